"""Platform settings, read from ``RONGSHU_*`` environment variables (and an optional ``.env``).

Every field carries a description: ``rongshu settings`` prints them and the operator guide lists
them, and a test fails when a field is undocumented. Defaults make ``rongshu demo`` work with
nothing else installed (SQLite, in-process jobs, local key files).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Placeholder secret that is fine on a developer's laptop and refused anywhere else.
DEVELOPMENT_SECRET = "rongshu-development-secret-change-me"  # noqa: S105


class Environment(StrEnum):
    """Where the platform runs; only ``development`` accepts default secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Language(StrEnum):
    """Languages the web pages speak."""

    ZH_CN = "zh-CN"
    EN = "en"


class Settings(BaseSettings):
    """All configuration of one rongshu installation."""

    model_config = SettingsConfigDict(
        env_prefix="RONGSHU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="development, test or production; outside development, secrets must be set.",
    )
    data_dir: Path = Field(
        Path("./rongshu-data"),
        description="Directory for the SQLite metadata database, the lake, keys and job queue.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the metadata database, e.g. postgresql+psycopg://u@host/rongshu. "
            "Default: SQLite in WAL mode at <data_dir>/rongshu.db."
        ),
    )
    redis_url: str | None = Field(
        None,
        description=(
            "Redis URL (redis://host:6379/0). When set, background jobs use Redis; "
            "otherwise an SQLite queue in the data directory."
        ),
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description=(
            "Secret for session tokens, CSRF tokens and API-key hashing (HMAC-SM3). "
            "At least 32 characters; refused at its default outside development."
        ),
    )
    language: Language = Field(
        Language.ZH_CN, description="Default language of web pages (zh-CN or en)."
    )
    bureau_department: str = Field(
        "DSJ",
        description=(
            "Code of the big-data bureau's department; its approvers review catalog submissions."
        ),
    )
    host: str = Field("127.0.0.1", description="Address `rongshu serve` listens on.")
    port: int = Field(8000, description="Port `rongshu serve` listens on.")
    public_url: str | None = Field(
        None,
        description="Public base URL (https://data.example.gov.cn); https makes cookies Secure.",
    )
    session_hours: float = Field(8.0, description="Hours a console login stays valid.")
    login_max_failures: int = Field(
        5, description="Wrong passwords in a row after which an account is locked."
    )
    login_lockout_minutes: int = Field(30, description="Minutes a locked account stays locked.")
    audit_checkpoint_every: int = Field(
        1000, description="Sign an SM2 checkpoint of the audit chain every this many entries."
    )
    audit_batch_max: int = Field(
        5000, description="Most audit entries the ledger writer commits in one transaction."
    )
    audit_gather_ms: float = Field(
        2.0,
        ge=0,
        description=(
            "Milliseconds a busy audit ledger lets a batch gather before committing it "
            "(fewer, larger transactions under load); an idle ledger commits at once."
        ),
    )
    jobs_in_process: bool = Field(
        True,
        description=(
            "Run background jobs inside `rongshu serve` (embedded). "
            "Set false when separate `rongshu worker` processes run them."
        ),
    )
    jobs_workers: int = Field(2, description="Worker threads that run background jobs.")
    ingest_max_concurrent_loads: int = Field(
        2, ge=1, description="Most loads that run at once, across every worker process."
    )
    ingest_retries: int = Field(
        3, ge=0, description="Times a scheduled load that failed is tried again."
    )
    ingest_retry_delay: float = Field(
        60.0,
        ge=0,
        description="Seconds before the first retry of a failed load; each later retry doubles it.",
    )
    ingest_load_hours: float = Field(
        6.0,
        gt=0,
        description=(
            "Hours a load may hold its concurrency slot; a slot whose worker died frees after it."
        ),
    )
    ingest_upload_max_mb: int = Field(
        200, ge=1, description="Largest file, in MB, a steward may upload as a source."
    )
    ingest_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Hosts that database and HTTP sources attached in the console or API may reach: "
            "names, *.suffixes or networks (10.8.0.0/16), comma-separated; empty: any host."
        ),
    )
    lake_retention_days: int | None = Field(
        30,
        ge=0,
        description="Days old versions of lake tables stay readable (time travel); empty: forever.",
    )
    lake_retention_versions: int | None = Field(
        None,
        ge=1,
        description="Latest versions of each lake table kept whatever their age; empty: no limit.",
    )
    quality_correction_days: int = Field(
        5,
        ge=1,
        description="Working days a department has to fix the problem data of a correction ticket.",
    )
    quality_ticket_severities: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["error"],
        description=(
            "Severities of rules whose failing rows open correction tickets after each quality "
            "run, comma-separated (error, warning, info)."
        ),
    )
    exchange_approval_days: int = Field(
        5,
        ge=1,
        description="Working days an owner department has to decide an application for its data.",
    )
    exchange_daily_quota: int = Field(
        100_000, ge=1, description="Calls a day a new grant allows unless its approver sets more."
    )
    exchange_rate_per_second: int = Field(
        500, ge=1, description="Calls a second a new grant allows (its rate limit)."
    )
    exchange_signature_window: int = Field(
        300,
        ge=10,
        description=(
            "Seconds a signed request's timestamp may differ from the server's clock; older or "
            "newer requests are refused as stale, and nonces are remembered this long."
        ),
    )
    exchange_daily_target: int = Field(
        800_000,
        ge=0,
        description="The plan's daily indicator of queries and verifications (console home).",
    )
    exchange_push_retries: int = Field(
        8, ge=0, description="Times a subscription's push to a consumer's endpoint is retried."
    )
    exchange_push_retry_delay: float = Field(
        30.0,
        ge=0,
        description="Seconds before the first retry of a failed push; each later retry doubles it.",
    )
    log_format: str = Field("json", description="Log format: json (structured) or console.")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")

    @field_validator("ingest_allowed_hosts", "quality_ticket_severities", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment is not Environment.DEVELOPMENT:
            if secret == DEVELOPMENT_SECRET:
                raise ValueError(
                    "RONGSHU_SECRET_KEY is at its development default; "
                    f"set a secret of your own for the {self.environment} environment"
                )
            if len(secret) < 32:
                raise ValueError("RONGSHU_SECRET_KEY must be at least 32 characters long")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        """The metadata database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rongshu.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        """Where the platform's own key files (SM2 signing key) live."""
        return self.data_dir / "keys"

    @property
    def lake_dir(self) -> Path:
        """Root of the versioned lake tables."""
        return self.data_dir / "lake"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry the Secure flag whenever the platform is served over https."""
        return bool(self.public_url and self.public_url.startswith("https://"))


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
