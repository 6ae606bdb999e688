"""``rongshu opendata`` as an operator uses it: open a resource, release it, list datasets and
releases, withdraw; refusals exit non-zero with the reason."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.core.platform import Platform

from .conftest import AIR, FIRMS, Portal

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def _run(platform: Platform, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(
        app,
        ["opendata", *args, "--data-dir", str(platform.settings.data_dir)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout + result.stderr


def test_operators_open_release_list_and_withdraw(portal: Portal) -> None:
    platform = portal.platform
    portal.air(rows=25)
    opened = json.loads(
        _run(
            platform,
            "open",
            AIR,
            "--tag",
            "空气质量",
            "--tag",
            "PM2.5",
            "--theme",
            "environment",
            "--licence",
            "cc-zero",
            "--columns",
            "reading_id,station_name,district,aqi",
            "--quasi",
            "district",
            "--k",
            "3",
            "--json",
        )
    )
    name = opened["name"]
    assert opened["tags"] == ["空气质量", "PM2.5"] and opened["licence"] == "cc-zero"
    assert opened["columns"] == ["reading_id", "station_name", "district", "aqi"]
    assert (opened["quasi_identifiers"], opened["k_anonymity"]) == (["district"], 3)

    released = json.loads(_run(platform, "release", name, "--json"))
    assert released["state"] == "ready" and released["rows"] == 25
    table = _run(platform, "release", name)  # once per version: the same release
    assert "ready" in table and "files: csv, csv(gb18030), xlsx, json, parquet" in table

    listed = json.loads(_run(platform, "datasets", "--json"))
    assert [(d["name"], d["latest"]["version"]) for d in listed] == [(name, released["version"])]
    assert "空气质量监测数据" in _run(platform, "datasets")
    history = json.loads(_run(platform, "releases", name, "--json"))
    assert [r["version"] for r in history] == [released["version"]]
    assert "可下载" in _run(platform, "releases", name)

    withdrawn = json.loads(_run(platform, "withdraw", name, "--reason", "口径调整", "--json"))
    assert withdrawn["state"] == "withdrawn"
    assert json.loads(_run(platform, "datasets", "--json")) == []
    assert name in _run(platform, "datasets", "--withdrawn")


def test_refusals_exit_non_zero_with_the_reason(portal: Portal) -> None:
    platform = portal.platform
    portal.firms(rows=20, remark_ids=True)
    personal = _run(platform, "open", FIRMS, "--columns", "entity_id,legal_rep", code=2)
    assert "legal_rep" in personal
    invalid = _run(platform, "open", FIRMS, "--k", "1", code=2)
    assert "k_anonymity" in invalid

    name = json.loads(_run(platform, "open", FIRMS, "--json"))["name"]
    refused = _run(platform, "release", name, code=3)  # ID numbers hidden in the remarks
    assert "remark" in refused
    assert "未发布" in _run(platform, "releases", name)
    assert "no open dataset" in _run(platform, "releases", "no-such-set", code=4)
    assert "reason" in _run(platform, "withdraw", name, "--reason", " ", code=2)
