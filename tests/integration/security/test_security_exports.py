"""Watermarked exports and tracing: a leaked file cut to 10% of its rows, re-sorted and saved
as Excel again names the recipient it was exported to, among every recorded export."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import xlsxwriter
from typer.testing import CliRunner

from rongshu.catalog.schemas import FieldType
from rongshu.cli import app
from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.demo.identifiers import make_ric
from rongshu.security import service
from rongshu.security.exports import ExportFormat, export_resource, trace_file
from rongshu.security.watermark_trace import read_table_file

from ..conftest import Declare, Write, field

# The metadata database is incidental here (SQLite and PostgreSQL are covered by
# test_security_service): one engine keeps the suite fast.
pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)

CODE = "350100-MZ-9003"
RECIPIENTS = [f"部门{i:02d}" for i in range(8)]


@pytest.fixture
def payments(platform: Platform, declare: Declare, write: Write) -> str:
    declare(
        CODE,
        [
            field("payment_no", key=True),
            field("id_number"),
            field("amount", FieldType.DECIMAL),
            field("month"),
        ],
        department="MZ",
    )
    rng = random.Random(9)
    write(
        CODE,
        [
            {
                "payment_no": f"P{i:06d}",
                "id_number": make_ric("350102", date(1970, 1, 1) + timedelta(days=i), i % 999),
                "amount": round(rng.uniform(200, 3000), 2),
                "month": f"2024-{1 + i % 12:02d}",
            }
            for i in range(6000)
        ],
    )
    service.scan_resource(platform, CODE, actor=SYSTEM)
    return CODE


def _leak(source: Path, target: Path, rng: random.Random) -> None:
    """Keep 10% of the rows, shuffle them, drop a column, and save as Excel again."""
    table = read_table_file(source)
    keep = sorted(rng.sample(range(table.num_rows), table.num_rows // 10))
    rng.shuffle(keep)
    leaked = table.take(pa.array(keep)).drop_columns(["month"])
    workbook = xlsxwriter.Workbook(str(target))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, leaked.column_names)
    for row, record in enumerate(leaked.to_pylist(), start=1):
        sheet.write_row(row, 0, list(record.values()))
    workbook.close()


def test_a_cut_resorted_resaved_leak_names_its_recipient(
    platform: Platform, payments: str, tmp_path: Path
) -> None:
    files = {}
    for recipient in RECIPIENTS:
        out = tmp_path / f"{recipient}.xlsx"
        done = export_resource(
            platform,
            payments,
            out,
            recipient=recipient,
            actor=SYSTEM,
            file_format=ExportFormat.XLSX,
        )
        assert done.rows == 6000 and done.marked_columns == ["amount"]
        # About 128 marks must land in a 10% cut: a 6,000-row export marks a fifth of its rows
        # (one cell of four each); a million-row one marks 1/64.
        assert 0 < done.fraction_cells_changed < 0.06
        files[recipient] = out
    rng = random.Random(4)
    for recipient in rng.sample(RECIPIENTS, 3):
        leaked = tmp_path / f"leak-{recipient}.xlsx"
        _leak(files[recipient], leaked, rng)
        outcome = trace_file(platform, leaked)
        assert outcome.recipient == recipient, outcome.verdict
        assert outcome.confidence > 0.999 and outcome.exports_considered == len(RECIPIENTS)


def test_exported_values_are_masked(platform: Platform, payments: str, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    export_resource(platform, payments, out, recipient="RS", actor=SYSTEM)
    ids = read_table_file(out).column("id_number").to_pylist()
    assert all("*" * 10 in value for value in ids)  # the standard profile's partial mask


def test_an_unscanned_resource_is_not_read_masked(
    platform: Platform, declare: Declare, write: Write, tmp_path: Path
) -> None:
    declare("350100-MZ-9004", [field("no", key=True), field("phone")], department="MZ")
    write("350100-MZ-9004", [{"no": "1", "phone": "13812345678"}])
    with pytest.raises(Conflict, match="not been scanned"):
        export_resource(
            platform, "350100-MZ-9004", tmp_path / "y.csv", recipient="RS", actor=SYSTEM
        )
    assert not (tmp_path / "y.csv").exists()


def test_exports_need_keys_and_traces_need_a_matching_export(
    platform: Platform, payments: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationFailed):
        export_resource(
            platform, payments, tmp_path / "x.csv", recipient="RS", actor=SYSTEM, columns=["amount"]
        )
    assert not (tmp_path / "x.csv").exists()
    stray = tmp_path / "stray.csv"
    stray.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(NotFound):
        trace_file(platform, stray)


def test_the_cli_exports_and_traces(platform: Platform, payments: str, tmp_path: Path) -> None:
    url = platform.settings.database_url
    runner = CliRunner(env={"RONGSHU_DATABASE_URL": url} if url else None)
    data_dir = str(platform.settings.data_dir)
    out = tmp_path / "cli.csv"
    exported = runner.invoke(
        app,
        [
            "security",
            "export",
            payments,
            "--recipient",
            "JT",
            "--out",
            str(out),
            "--data-dir",
            data_dir,
        ],
    )
    assert exported.exit_code == 0, exported.output
    traced = runner.invoke(app, ["security", "trace", str(out), "--data-dir", data_dir, "--json"])
    assert traced.exit_code == 0, traced.output
    assert '"recipient": "JT"' in traced.output
