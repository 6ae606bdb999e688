"""One generated demo city shared by the demo's integration tests, and a reader for its sources."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import cache

import openpyxl
import pytest

from rongshu.demo.generator import CityManifest, generate_city

Records = list[dict[str, object]]


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> CityManifest:
    """The default demo city (20 000 residents, default seed)."""
    return generate_city(tmp_path_factory.mktemp("city"))


def read_source(manifest: CityManifest, key: str) -> Records:
    """A table as a connector would read it, keyed by the columns' English names."""
    summary = manifest.table(key)
    names = [column.name for column in summary.columns]
    path = manifest.out_dir / summary.paths[0]
    if summary.source == "sqlite":
        with sqlite3.connect(path) as connection:
            cursor = connection.execute(f'SELECT * FROM "{summary.sql_table}"')  # noqa: S608
            return [dict(zip(names, row, strict=True)) for row in cursor]
    if summary.source == "csv":
        with path.open(encoding=summary.encoding, newline="") as file:
            reader = csv.reader(file)
            header = next(reader)
            assert header == [column.label for column in summary.columns]
            return [
                {n: (v if v != "" else None) for n, v in zip(names, row, strict=True)}
                for row in reader
            ]
    if summary.source == "ndjson":
        with path.open(encoding="utf-8") as file:
            return [json.loads(line) for line in file]
    if summary.source == "json":
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["total"] == len(document["data"])
        return list(document["data"])
    records: Records = []
    for part in summary.paths:
        workbook = openpyxl.load_workbook(manifest.out_dir / part, read_only=True)
        for row in workbook.active.iter_rows(min_row=summary.header_rows + 1, values_only=True):
            values = [v.date() if isinstance(v, datetime) else v for v in row]
            records.append(dict(zip(names, values, strict=True)))
        workbook.close()
    return records


@pytest.fixture(scope="session")
def source(city: CityManifest) -> Callable[[str], Records]:
    """``source(table_key)``: the table's rows as read back from what was written (cached)."""
    return cache(lambda key: read_source(city, key))


@pytest.fixture(scope="session")
def defects(city: CityManifest) -> list[dict[str, str]]:
    """The rows of ``ground_truth/defects.csv``."""
    with (city.out_dir / city.defects_path).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))
