"""Where sources attached by people may point: their uploads, other databases, allowed hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.core.settings import Settings
from rongshu.ingest.uploads import check_location, host_allowed, upload_dir

ALLOWED = ["db.fz.gov.cn", "*.ga.fz.gov.cn", "10.8.0.0/16"]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("db.fz.gov.cn", True),
        ("DB.fz.gov.cn.", True),
        ("api.ga.fz.gov.cn", True),
        ("ga.fz.gov.cn", False),  # a suffix rule covers subdomains only
        ("evilga.fz.gov.cn", False),
        ("10.8.200.1", True),
        ("10.9.0.1", False),
        ("169.254.169.254", False),
        ("", False),
    ],
)
def test_host_allow_list(host: str, allowed: bool) -> None:
    assert host_allowed(host, ALLOWED) is allowed


def check(kind: str, settings: Settings, **options: object) -> None:
    check_location(kind, dict(options), settings=settings, department="GA")


def test_people_reach_only_their_uploads_and_allowed_hosts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, ingest_allowed_hosts=ALLOWED)
    mine = upload_dir(tmp_path, "GA") / "a.csv"
    check("csv", settings, path=str(mine))
    with pytest.raises(ValidationFailed, match="uploaded by your department"):
        check("csv", settings, path=str(upload_dir(tmp_path, "RS") / "b.csv"))
    with pytest.raises(ValidationFailed, match="uploaded by your department"):
        check("csv", settings, path=str(upload_dir(tmp_path, "GA") / ".." / "RS" / "b.csv"))
    check("sql", settings, url="postgresql://ga@db.fz.gov.cn/ga", table="t")
    check("http", settings, url="https://api.ga.fz.gov.cn/v1/people")
    with pytest.raises(ValidationFailed, match="RONGSHU_INGEST_ALLOWED_HOSTS"):
        check("http", settings, url="http://169.254.169.254/latest/meta-data")
    with pytest.raises(ValidationFailed, match="RONGSHU_INGEST_ALLOWED_HOSTS"):
        check("sql", settings, url="mysql+pymysql://root@10.9.0.1/test", table="t")
    with pytest.raises(ValidationFailed, match="SQLite"):
        check("sql", settings, url=f"sqlite:///{tmp_path / 'rongshu.db'}", table="user")


def test_the_platforms_own_database_is_never_a_source(tmp_path: Path) -> None:
    own = "postgresql+psycopg://rongshu@127.0.0.1:5432/rongshu"
    settings = Settings(data_dir=tmp_path, database_url=own)  # no allow-list: any host
    check("sql", settings, url="postgresql+psycopg://ga@127.0.0.1:5432/ga_data", table="t")
    with pytest.raises(ValidationFailed, match="metadata database"):
        check("sql", settings, url="postgresql://other@127.0.0.1:5432/rongshu", table="user")
