"""The datastore pages through a release: filters, text search, fields, sort, and refusals."""

from __future__ import annotations

import pytest

from rongshu.core.errors import ValidationFailed
from rongshu.core.identity.schemas import SYSTEM
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
