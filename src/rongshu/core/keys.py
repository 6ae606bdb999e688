"""Data keys: versioned, by purpose, from a key provider (a local key directory by default).

Purposes: ``pseudonym`` (SM3-HMAC masking tokens), ``masking`` (SM4-GCM masking output),
``field`` (SM4-GCM encryption of core and important fields at rest), ``watermark`` (the
master key each recipient's fingerprint key is derived from) and ``credential`` (SM4-GCM sealing
of API keys' signing secrets). Each purpose has versions 1, 2,
...; the highest is current, older ones stay readable so data written under them can still be
decrypted until a rotation has re-encrypted it.

``LocalKeyDirectory`` keeps each key in its own file ``<keys dir>/data/<purpose>.v<N>.key``
(0600, in a 0700 directory), created atomically so two processes never make two different
first keys. A KMS or an HSM implements ``KeyProvider`` instead; callers only see the protocol.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from rongshu.catalog.schemas import LabelledEnum
from rongshu.core.crypto import create_key_file
from rongshu.core.errors import NotFound

SM4_KEY_BYTES: Final = 16
HMAC_KEY_BYTES: Final = 32
_FILE = re.compile(r"^(?P<purpose>[a-z]+)\.v(?P<version>[0-9]+)\.key$")


class KeyPurpose(LabelledEnum):
    """What a data key is for; each purpose has its own versions."""

    PSEUDONYM = "pseudonym", "假名化密钥 (SM3-HMAC)"
    MASKING = "masking", "脱敏加密密钥 (SM4)"
    FIELD = "field", "字段加密密钥 (SM4)"
    WATERMARK = "watermark", "水印主密钥 (SM3-HMAC)"
    CREDENTIAL = "credential", "凭据加密密钥 (SM4)"

    @property
    def size(self) -> int:
        """Key bytes: SM4 keys are 128 bits, HMAC keys 256."""
        sm4 = (KeyPurpose.MASKING, KeyPurpose.FIELD, KeyPurpose.CREDENTIAL)
        return SM4_KEY_BYTES if self in sm4 else HMAC_KEY_BYTES


@runtime_checkable
class KeyProvider(Protocol):
    """Where data keys come from."""

    def current(self, purpose: KeyPurpose) -> tuple[int, bytes]:
        """The current version of ``purpose``'s key and the key (created on first use)."""
        ...

    def get(self, purpose: KeyPurpose, version: int) -> bytes:
        """One version of a key; ``NotFound`` when there is no such version."""
        ...

    def versions(self, purpose: KeyPurpose) -> list[int]:
        """Every version of ``purpose``'s key, oldest first."""
        ...

    def rotate(self, purpose: KeyPurpose) -> int:
        """Make a new current version; returns its number."""
        ...


class LocalKeyDirectory:
    """Keys in files under ``directory`` (the installation's ``<data dir>/keys/data``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # A version's key never changes once written: read each file once, not per batch.
        self._read: dict[tuple[KeyPurpose, int], bytes] = {}

    def _path(self, purpose: KeyPurpose, version: int) -> Path:
        return self.directory / f"{purpose.value}.v{version}.key"

    def versions(self, purpose: KeyPurpose) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _FILE.match(path.name)
            if match and match["purpose"] == purpose.value:
                found.append(int(match["version"]))
        return sorted(found)

    def current(self, purpose: KeyPurpose) -> tuple[int, bytes]:
        versions = self.versions(purpose)
        if not versions:
            create_key_file(
                self._path(purpose, 1), secrets.token_bytes(purpose.size).hex().encode()
            )
            versions = self.versions(purpose)
        return versions[-1], self.get(purpose, versions[-1])

    def get(self, purpose: KeyPurpose, version: int) -> bytes:
        known = self._read.get((purpose, version))
        if known is not None:
            return known
        try:
            key = bytes.fromhex(self._path(purpose, version).read_text().strip())
        except FileNotFoundError:
            raise NotFound(f"there is no version {version} of the {purpose.value} key") from None
        self._read[(purpose, version)] = key
        return key

    def rotate(self, purpose: KeyPurpose) -> int:
        while True:
            versions = self.versions(purpose)
            version = (versions[-1] if versions else 0) + 1
            key = secrets.token_bytes(purpose.size).hex().encode()
            if create_key_file(self._path(purpose, version), key):
                return version
