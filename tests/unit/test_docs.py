"""Documentation keeps up with the code: every command is in the user guide."""

from __future__ import annotations

from pathlib import Path

import typer

from rongshu.cli import app

GUIDE = Path(__file__).parents[2] / "docs" / "user-guide.md"


def command_lines(typer_app: typer.Typer, prefix: str = "rongshu") -> list[str]:
    lines = []
    for command in typer_app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        lines.append(f"{prefix} {name.replace('_', '-')}")
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None and group.name
        lines.append(f"{prefix} {group.name}")
        lines += command_lines(group.typer_instance, f"{prefix} {group.name}")
    return lines


def test_every_command_is_in_the_user_guide() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    missing = []
    for line in command_lines(app):
        *group, last = line.split()
        if line not in guide and not (
            len(group) > 1 and f"{' '.join(group)} " in guide and last in guide
        ):
            missing.append(line)
    assert not missing, f"commands missing from {GUIDE.name}: {missing}"
