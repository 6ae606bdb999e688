"""Releases: personal information never reaches a published dataset, rare quasi-identifier
combinations are suppressed, and every version's files hold the lake's rows."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import openpyxl
import pyarrow.parquet as pq
import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.opendata import releases, service
from rongshu.opendata.schemas import ReleaseState

from .conftest import AIR, FIRMS, Portal, air_rows


def _file(portal: Portal, name: str, version: int, key: str) -> bytes:
    return releases.release_file(portal.platform.settings, name, version, key).read_bytes()


def test_personal_fields_are_left_out_by_default_and_refused_when_asked(portal: Portal) -> None:
    rows = portal.firms()
    name = portal.open(FIRMS)
    with portal.platform.db.session_scope() as session:
        opened = service.get_dataset(session, name).columns
    assert "legal_rep" not in opened
    assert {"entity_id", "firm_name", "industry"} <= set(opened)

    with pytest.raises(ValidationFailed) as refused:
        portal.open(FIRMS, columns=["entity_id", "legal_rep"])
    assert "legal_rep" in str(refused.value)

    made = releases.release(portal.platform, name, actor=SYSTEM)
    assert made.state is ReleaseState.READY
    body = _file(portal, name, made.version, "csv").decode("utf-8-sig")
    assert "法定代表人" not in body and "legal_rep" not in body
    assert not any(row["legal_rep"] in body for row in rows)


def test_a_release_whose_data_holds_id_numbers_is_refused(portal: Portal) -> None:
    portal.firms(remark_ids=True)  # the catalog calls the remark harmless; the data is not
    name = portal.open(FIRMS)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    assert made.state is ReleaseState.REFUSED
    assert "remark" in made.error
    assert made.files == []
    with portal.platform.db.session_scope() as session:
        assert service.get_dataset(session, name).latest is None


def test_rare_quasi_identifier_combinations_are_blanked(portal: Portal) -> None:
    rows = portal.firms(rows=160, rare=6)
    quasi = ["district", "industry", "entity_type"]
    name = portal.open(FIRMS, quasi_identifiers=quasi, k_anonymity=5)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    assert made.state is ReleaseState.READY
    assert (made.rows, made.suppressed_rows, made.dropped_rows) == (len(rows), 6, 0)
    table = pq.read_table(
        releases.release_file(portal.platform.settings, name, made.version, "parquet")
    )
    combos: dict[tuple[object, ...], int] = {}
    for row in table.select(quasi).to_pylist():
        key = tuple(row.values())
        combos[key] = combos.get(key, 0) + 1
    assert min(combos.values()) >= 5
    assert "个体工商户" not in table.column("entity_type").to_pylist()


def test_too_few_rare_rows_to_hide_together_are_left_out(portal: Portal) -> None:
    rows = portal.firms(rows=160, rare=2)
    name = portal.open(FIRMS, quasi_identifiers=["district", "industry"], k_anonymity=5)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    assert (made.rows, made.suppressed_rows, made.dropped_rows) == (len(rows) - 2, 0, 2)


def test_every_version_downloads_the_lake_rows_with_checksums(portal: Portal) -> None:
    first = portal.air(rows=200)
    name = portal.open(AIR, columns=["reading_id", "station_name", "time", "pm25", "aqi"])
    v1 = releases.release(portal.platform, name, actor=SYSTEM)
    second = air_rows(300)
    v2_version = portal.write(AIR, second)
    v2 = releases.release(portal.platform, name, actor=SYSTEM)
    assert v2.version == v2_version != v1.version
    assert releases.release(portal.platform, name, actor=SYSTEM) == v2  # once per version

    for made, rows in ((v1, first), (v2, second)):
        want = sorted((r["reading_id"], r["station_name"], r["aqi"]) for r in rows)
        files = {f.format.value + "/" + f.encoding: f for f in made.files}
        for f in made.files:
            key = "csv-gb18030" if f.encoding == "gb18030" else f.format.value
            data = _file(portal, name, made.version, key)
            assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.size
        text = _file(portal, name, made.version, "csv")
        assert text.startswith(b"\xef\xbb\xbf")
        got = [
            (int(r["reading_id"]), r["station_name"], int(r["aqi"]))
            for r in csv.DictReader(io.StringIO(text.decode("utf-8-sig")))
        ]
        assert sorted(got) == want
        gb = _file(portal, name, made.version, "csv-gb18030").decode("gb18030")
        assert gb == text.decode("utf-8-sig")
        parsed = json.loads(_file(portal, name, made.version, "json"))
        assert sorted((r["reading_id"], r["station_name"], r["aqi"]) for r in parsed) == want
        sheet = openpyxl.load_workbook(io.BytesIO(_file(portal, name, made.version, "xlsx"))).active
        assert sheet is not None and sheet.max_row == len(rows) + 1
        assert "parquet/" in files and made.rows == len(rows)
