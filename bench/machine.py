"""What a benchmark ran on, printed above its figures: commit, cores, memory, versions, load."""

from __future__ import annotations

import os
import platform as host
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa


def facts() -> str:
    """One line: the commit (and whether ``src/`` has uncommitted changes), the machine, the
    versions that matter for the lake's speed, and the load average while it ran."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - a fixed git command
            ["git", *args],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        return done.stdout.strip()

    dirty = " (src/ has uncommitted changes)" if git("status", "--porcelain", "--", "src") else ""
    memory = Path("/proc/meminfo").read_text().split()[1]
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    return (
        f"commit {git('rev-parse', '--short', 'HEAD')}{dirty}; {os.cpu_count()} cores, "
        f"{int(memory) / 2**20:.1f} GiB; Python {host.python_version()}, DuckDB "
        f"{duckdb.__version__}, pyarrow {pa.__version__}; load average {load}"
    )
