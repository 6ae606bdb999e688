"""The running platform: settings, metadata database, signing key and audit ledger together.

One ``Platform`` per process, opened by the web app, the CLI or a job worker and closed by it.
Nothing here is global: tests open as many platforms as they like, each in its own data dir.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.crypto import SM2PrivateKey, load_or_create_signing_key
from rongshu.core.db import Database
from rongshu.core.keys import KeyProvider, LocalKeyDirectory
from rongshu.core.settings import Settings


@dataclass
class Platform:
    """What every service call needs from the installation it runs in."""

    settings: Settings
    db: Database
    signing_key: SM2PrivateKey
    ledger: AuditLedger = field(repr=False)
    #: Data keys by purpose (a local key directory; a KMS or HSM would plug in here).
    data_keys: KeyProvider = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_keys = LocalKeyDirectory(self.settings.keys_dir / "data")

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = False) -> Platform:
        """Open the data directory; with ``upgrade``, bring the schema to the newest revision."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_settings(settings)
        if upgrade:
            db.upgrade()
        key = load_or_create_signing_key(settings.keys_dir)
        ledger = AuditLedger(
            db,
            key,
            checkpoint_every=settings.audit_checkpoint_every,
            batch_max=settings.audit_batch_max,
            gather_seconds=settings.audit_gather_ms / 1000,
        )
        return cls(settings=settings, db=db, signing_key=key, ledger=ledger)

    @property
    def secret(self) -> bytes:
        """The installation secret as bytes (keys HMACs of tokens and API keys)."""
        return self.settings.secret_key.get_secret_value().encode()

    def close(self) -> None:
        """Commit queued audit entries and release database connections."""
        self.ledger.close()
        self.db.dispose()
