"""Settings: documented, and refusing default secrets outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rongshu.core.settings import DEVELOPMENT_SECRET, Settings

DOCS = Path(__file__).parents[3] / "docs" / "operator-guide.md"


def test_every_setting_is_described_and_documented() -> None:
    guide = DOCS.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"RONGSHU_{name.upper()}" in guide, (
            f"RONGSHU_{name.upper()} missing from {DOCS.name}"
        )


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="development default"):
        Settings(environment=environment)  # type: ignore[arg-type]


def test_short_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short")  # type: ignore[arg-type]


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=DEVELOPMENT_SECRET)  # type: ignore[arg-type]
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'rongshu.db').resolve()}"
    assert settings.language == "zh-CN"
    assert settings.redis_url is None
    assert not settings.secure_cookies
    assert Settings(public_url="https://data.example.gov.cn").secure_cookies
