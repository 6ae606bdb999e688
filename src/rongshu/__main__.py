"""``python -m rongshu`` is the ``rongshu`` command."""

from rongshu.cli import main

main()
