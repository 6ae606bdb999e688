"""Files of a lake table on local disk: the writer's lock, data files, and disk errors explained.

One writer at a time per table (an ``flock`` on ``_rongshu_write.lock`` in the table directory,
released by the kernel when the process dies, even by SIGKILL). Holding it, a writer knows that
data files no version references were left by a writer that failed or was killed, so it may
delete them. Readers never take the lock: they read only what a committed version references.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rongshu.core.errors import Conflict, RongshuError
from rongshu.lake.errors import LakeStorageError

LOCK_FILE = "_rongshu_write.lock"
STAGING_DIR = "_staging"

_ERRNO_TEXT = {
    errno.ENOSPC: ("the disk is full", r"No space left on device|os error 28\b"),
    errno.EDQUOT: ("the disk quota is used up", r"Disk quota exceeded|os error 122\b"),
    errno.EROFS: ("the lake's disk is read-only", r"Read-only file system|os error 30\b"),
    errno.EACCES: ("the lake directory may not be written", r"Permission denied|os error 13\b"),
    errno.EPERM: ("the lake directory may not be written", r"Operation not permitted|os error 1\b"),
}


def storage_problem(exc: BaseException) -> str | None:
    """What the disk refused, in words, when ``exc`` (Python or deltalake's) is a disk error."""
    if isinstance(exc, OSError) and exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno][0]
    text = str(exc)
    for words, pattern in _ERRNO_TEXT.values():
        if re.search(pattern, text):
            return words
    return None


def storage_error(exc: BaseException, *, table: str, path: Path, action: str) -> RongshuError:
    """A ``LakeStorageError`` for a disk error, else a plain ``RongshuError`` naming the table."""
    problem = storage_problem(exc)
    if problem is not None:
        return LakeStorageError(
            f"lake table {table!r}: {problem} ({path}); {action} failed and the table is unchanged"
            f" [{_first_line(exc)}]"
        )
    if isinstance(exc, FileNotFoundError):
        return LakeStorageError(f"lake table {table!r}: {action} failed, a file is missing: {exc}")
    return RongshuError(f"lake table {table!r}: {action} failed: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def write_lock(path: Path, *, table: str, timeout: float) -> Iterator[None]:
    """Hold the table's writer lock; Conflict if another writer keeps it past ``timeout`` s."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise storage_error(exc, table=table, path=path, action="the write") from exc
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Conflict(
                        f"lake table {table!r} is being written by another load; try again later"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def data_files(path: Path) -> set[Path]:
    """Every file in the table directory that could be data: not the log, lock or staging area.

    Names starting with "_" or "." are the table's own (Delta's convention), so they are skipped.
    """
    found: set[Path] = set()
    if not path.is_dir():
        return found
    for directory, subdirs, files in os.walk(path):
        subdirs[:] = [d for d in subdirs if not d.startswith(("_", "."))]
        found.update(Path(directory, f) for f in files if not f.startswith(("_", ".")))
    return found


def remove_files(paths: set[Path]) -> int:
    """Delete ``paths`` that still exist; the number deleted."""
    removed = 0
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed
