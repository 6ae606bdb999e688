"""What file connectors share: the ``path`` option (one file or several read in turn), checking
the files exist, and a cheap fingerprint of their contents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import field_validator

from rongshu.ingest.connectors.base import ConnectorOptions, SourceNotFound, SourceUnreadable

_MIB = 1 << 20


class FileOptions(ConnectorOptions):
    """``path``: one file, or a list read one after the other (e.g. ``x.xlsx``, ``x_002.xlsx``)."""

    path: str | list[str]

    @field_validator("path")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        paths = [value] if isinstance(value, str) else value
        if not paths or any(not p.strip() for p in paths):
            raise ValueError("give the path of the file (or a non-empty list of paths)")
        return value

    @property
    def paths(self) -> list[Path]:
        """The files, in reading order."""
        return [Path(p) for p in ([self.path] if isinstance(self.path, str) else self.path)]


def check_files(paths: list[Path]) -> list[Path]:
    """``paths`` when each is a readable file; otherwise a clear error for the first that is not."""
    for path in paths:
        if not path.exists():
            raise SourceNotFound(
                f"source file not found: {path}", details=[{"field": "path", "value": str(path)}]
            )
        if not path.is_file():
            raise SourceNotFound(
                f"source path is not a file: {path}",
                details=[{"field": "path", "value": str(path)}],
            )
        try:
            with path.open("rb"):
                pass
        except PermissionError:
            raise SourceUnreadable(
                f"source file cannot be opened (permission denied): {path}",
                details=[{"field": "path", "value": str(path)}],
            ) from None
    return paths


def file_fingerprint(paths: list[Path]) -> str:
    """``sha256:`` of each file's size, modification time, first and last MiB.

    Cheap whatever the size; a file edited in the middle in place still changes its mtime.
    """
    digest = hashlib.sha256()
    for path in check_files(paths):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        with path.open("rb") as file:
            digest.update(file.read(_MIB))
            if stat.st_size > _MIB:
                file.seek(max(_MIB, stat.st_size - _MIB))
                digest.update(file.read(_MIB))
    return f"sha256:{digest.hexdigest()}"


def total_size(paths: list[Path]) -> int:
    """Bytes of all the files."""
    return sum(path.stat().st_size for path in paths)
