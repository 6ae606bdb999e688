"""Files stewards upload as sources, and where sources attached by people may point.

An upload is stored under ``<data dir>/uploads/<department>/`` with a name of the platform's
making (time, a random part, and the original name made safe), never larger than the limit in
settings. A person attaching a file source may only name files of their own department's
uploads, and no SQLite file at all: otherwise a source could read any file the platform can
(its own metadata database, another department's uploads). The platform itself (``rongshu
ingest attach``, the demo) is not limited.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rongshu.core.errors import ValidationFailed

if TYPE_CHECKING:
    from rongshu.core.settings import Settings

#: File name endings a steward may upload, and the connector kind that reads each.
UPLOAD_KINDS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".json": "json",
    ".ndjson": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
}
FILE_KINDS = frozenset(UPLOAD_KINDS.values())
_CHUNK = 1024 * 1024


class UploadTooLarge(ValidationFailed):
    """The uploaded file is larger than the platform accepts."""

    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded file as stored: where, how big, and which connector reads it."""

    path: Path
    filename: str
    size: int
    kind: str


def upload_dir(data_dir: Path, department: str) -> Path:
    """Where ``department``'s uploads are stored."""
    return data_dir / "uploads" / department


def upload_kind(filename: str) -> str:
    """The connector kind for a file name, or ``ValidationFailed`` naming the accepted ones."""
    kind = UPLOAD_KINDS.get(Path(filename).suffix.lower())
    if kind is None:
        accepted = " ".join(sorted(UPLOAD_KINDS))
        raise ValidationFailed(
            f"{filename or 'the file'} is not a kind of file a source can read ({accepted})",
            details=[{"field": "file", "reason": f"one of {accepted}"}],
        )
    return kind


def safe_name(filename: str, *, now: datetime | None = None) -> str:
    """A stored name: UTC time, a random part, and the original name's letters and digits."""
    original = Path(filename.replace("\\", "/")).name
    suffix = Path(original).suffix.lower()
    stem = re.sub(r"[^\w-]+", "_", Path(original).stem).strip("_")[:60] or "upload"
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{moment}-{secrets.token_hex(4)}-{stem}{suffix}"


def store_upload(
    stream: BinaryIO, *, filename: str, data_dir: Path, department: str, max_bytes: int
) -> StoredUpload:
    """Copy an upload into the department's folder; nothing is left when it is too large."""
    kind = upload_kind(filename)
    folder = upload_dir(data_dir, department)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(filename)
    size = 0
    try:
        with target.open("xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(
                        f"the file is larger than {max_bytes // (1024 * 1024)} MB",
                        details=[{"field": "file", "reason": f"at most {max_bytes} bytes"}],
                    )
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink()
        raise ValidationFailed(
            f"{filename} is empty", details=[{"field": "file", "reason": "empty file"}]
        )
    return StoredUpload(path=target, filename=Path(filename).name, size=size, kind=kind)


def check_location(
    kind: str, options: dict[str, Any], *, settings: Settings, department: str
) -> None:
    """Refuse a source a person attaches that would read outside what they may reach: files
    outside the department's uploads, SQLite files, the platform's own metadata database, and
    hosts not in ``RONGSHU_INGEST_ALLOWED_HOSTS`` (when it is set)."""
    if kind in FILE_KINDS:
        raw = options.get("path")
        paths = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        root = upload_dir(settings.data_dir, department).resolve()
        outside = [str(p) for p in paths if not Path(str(p)).resolve().is_relative_to(root)]
        if outside:
            raise ValidationFailed(
                "a file source must be a file uploaded by your department; "
                f"not one of them: {', '.join(outside)}",
                details=[{"field": "path", "reason": "upload the file first"}],
            )
    elif kind == "sql":
        try:
            url = make_url(str(options.get("url", "")))
        except ArgumentError:
            return  # the connector names a malformed URL itself
        if url.get_backend_name() == "sqlite":
            raise ValidationFailed(
                "SQLite files on the platform's server can only be attached by the platform "
                "admin (rongshu ingest attach); give the URL of your department's database",
                details=[{"field": "url", "reason": "sqlite is not accepted here"}],
            )
        own = make_url(settings.resolved_database_url)
        if (url.host, url.port, url.database) == (own.host, own.port, own.database):
            raise ValidationFailed(
                "that is the platform's own metadata database, not a department's",
                details=[{"field": "url", "reason": "the platform's own database"}],
            )
        _check_host(url.host or "", settings.ingest_allowed_hosts)
    elif kind == "http":
        _check_host(
            urlsplit(str(options.get("url", ""))).hostname or "", settings.ingest_allowed_hosts
        )


def _check_host(host: str, allowed: list[str]) -> None:
    """Refuse ``host`` unless the allow-list is empty or names it (``db.gov.cn``, a
    ``*.gov.cn`` suffix, or a network such as ``10.8.0.0/16`` for an address)."""
    if not allowed or host_allowed(host, allowed):
        return
    raise ValidationFailed(
        f"{host or 'that address'} is not among the hosts sources may reach "
        "(RONGSHU_INGEST_ALLOWED_HOSTS); ask the platform admin to add it",
        details=[{"field": "url", "reason": "host not allowed"}],
    )


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether ``host`` matches an entry of ``allowed`` (a name, ``*.suffix`` or a network)."""
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in allowed):
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
        if host == entry:
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False
