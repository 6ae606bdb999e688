"""The datastore pages through a release: filters, text search, fields, sort, and refusals."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
from rongshu.core.platform import Platform
from rongshu.opendata import releases
from rongshu.opendata.datastore import Datastore

from .conftest import AIR, Portal


@pytest.fixture
def released(portal: Portal) -> tuple[Datastore, object, list[dict[str, object]]]:
    rows = portal.air(rows=120)
    name = portal.open(AIR)
    made = releases.release(portal.platform, name, actor=SYSTEM)
    path = releases.release_file(portal.platform.settings, name, made.version, "parquet")
    store = Datastore(portal.platform.settings)
    yield store, path, rows
    store.close()


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_pages_filters_and_sorts(
    released: tuple[Datastore, object, list[dict[str, object]]],
) -> None:
    store, path, rows = released
    page = store.search(path, limit=50, offset=100)
    assert page.total == 120 and len(page.records) == 20
    assert [r["_id"] for r in page.records] == list(range(101, 121))
    assert page.fields[0] == {"id": "_id", "type": "int"}
    types = {f["id"]: f["type"] for f in page.fields}
    assert types["aqi"] == "int" and types["station_name"] == "text"

    s01 = store.search(path, filters={"station_code": "S01"}, fields="_id,station_code,aqi")
    assert s01.total == 30 and {r["station_code"] for r in s01.records} == {"S01"}
    assert list(s01.records[0]) == ["_id", "station_code", "aqi"]

    two = store.search(path, filters={"station_code": ["S01", "S02"], "aqi": 20})
    want = [r for r in rows if r["station_code"] in ("S01", "S02") and r["aqi"] == 20]
    assert two.total == len(want)

    found = store.search(path, q="紫阳")
    assert found.total == 30 and all(r["station_name"] == "台江紫阳" for r in found.records)

    ordered = store.search(path, sort="aqi desc", limit=5, include_total=False)
    assert ordered.total is None
    assert [r["aqi"] for r in ordered.records] == sorted((r["aqi"] for r in rows), reverse=True)[:5]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "bad",
    [
        {"filters": {"nope": 1}},
        {"filters": {"aqi) OR 1=1 --": 1}},
        {"sort": "aqi; DROP TABLE x"},
        {"fields": "aqi,secret"},
        {"limit": 32_001},
        {"q": {"pm25 = 1 OR": "x"}},
    ],
)
def test_refuses_unknown_names_and_injection(
    released: tuple[Datastore, object, list[dict[str, object]]], bad: dict[str, object]
) -> None:
    store, path, _ = released
    with pytest.raises(ValidationFailed):
        store.search(path, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_values_are_bound_not_spliced(
    released: tuple[Datastore, object, list[dict[str, object]]],
) -> None:
    store, path, _ = released
    page = store.search(path, filters={"station_code": "S01' OR '1'='1"}, q="%' OR 1=1 --")
    assert page.total == 0


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_pages_keep_file_order_across_row_groups(tmp_path: Path, platform: Platform) -> None:
    """No sort means file order without an ORDER BY: it must hold over many row groups read
    in parallel, filtered and paged."""
    count = 200_000
    table = pa.table(
        {
            "n": pa.array(range(count), pa.int64()),
            "kind": pa.array(["ab"[i % 2] for i in range(count)]),
        }
    )
    path = tmp_path / "many_groups.parquet"
    pq.write_table(table, path, row_group_size=2_000)
    store = Datastore(platform.settings)
    try:
        seen: list[int] = []
        for offset in range(0, 6_000, 1_500):
            page = store.search(path, filters={"kind": "b"}, limit=1_500, offset=offset + 40_000)
            seen.extend(int(r["n"]) for r in page.records)
        assert seen == list(range(80_001, 80_001 + 12_000, 2))
        assert [r["_id"] for r in page.records][:2] == [seen[-1_500] + 1, seen[-1_499] + 1]
        # Sorted pages fetch their rows by number from many row groups, in the sort's order.
        ordered = store.search(
            path,
            filters={"kind": "a"},
            sort="kind asc, n desc",
            fields="n,_id",
            offset=7,
            limit=900,
        )
        want = list(range(count - 2, -1, -2))[7:907]
        assert [(r["n"], r["_id"]) for r in ordered.records] == [(n, n + 1) for n in want]
    finally:
        store.close()
