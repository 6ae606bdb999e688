"""Injected defects: at the configured rates, each really broken, each listed with its original."""

from __future__ import annotations

import copy
import csv
import io
import random
import re
from collections import Counter
from datetime import date

import pytest

from rongshu.demo.defects import RATES, DefectInjector, DefectLog
from rongshu.demo.identifiers import (
    IdSequenceAllocator,
    ric_is_valid_checksum,
    uscc_is_valid,
)
from rongshu.demo.population import Population
from rongshu.demo.records import ProviderRecords
from rongshu.demo.regions import region_valid_for_birth_year
from rongshu.demo.schema import (
    ENTERPRISE_REGISTRY,
    HOUSEHOLD_REGISTRY,
    STUDENT_STATUS,
    DefectKind,
    TableSpec,
)

K = DefectKind
PHONE = re.compile(r"1[3-9]\d{9}|0591-\d{8}")


def _inject(spec: TableSpec, rows: list[list[object]]) -> tuple[list[dict[str, str]], DefectLog]:
    stream = io.StringIO()
    log = DefectLog(stream)
    injector = DefectInjector(spec, random.Random(4), log)
    for start in range(0, len(rows), 5_000):
        injector.inject(rows[start : start + 5_000])
    return list(csv.DictReader(io.StringIO(stream.getvalue()))), log


@pytest.fixture(scope="module")
def registry() -> tuple[list[list[object]], list[list[object]], list[dict[str, str]], DefectLog]:
    population = Population(random.Random(9), IdSequenceAllocator(), 40_000)
    clean = [row for chunk in population.chunks(10_000) for row in chunk.registry_rows]
    dirty = copy.deepcopy(clean)
    records, log = _inject(HOUSEHOLD_REGISTRY, dirty)
    return clean, dirty, records, log


def test_only_listed_cells_change(registry: tuple) -> None:  # type: ignore[type-arg]
    clean, dirty, records, _ = registry
    names = HOUSEHOLD_REGISTRY.column_names
    changed = {
        (str(c[0]), names[i])
        for c, d in zip(clean, dirty, strict=True)
        for i in range(len(names))
        if c[i] != d[i]
    }
    listed = {(r["row_key"], r["column"]) for r in records}
    assert changed == listed
    assert len(records) == len(listed)  # at most one defect per cell


def test_counts_are_near_the_configured_rates(registry: tuple) -> None:  # type: ignore[type-arg]
    _, _, records, log = registry
    counts = Counter(r["kind"] for r in records)
    for (table, kind), cells in log.cells.items():
        assert table == "household_registry"
        expected = cells * RATES[kind]
        assert abs(counts[kind] - expected) < 4 * expected**0.5 + 3, kind
        assert log.counts[(table, kind)] == counts[kind]


def test_each_defect_really_breaks_its_cell(registry: tuple) -> None:  # type: ignore[type-arg]
    clean, dirty, records, _ = registry
    names = HOUSEHOLD_REGISTRY.column_names
    by_key = {str(row[0]): dict(zip(names, row, strict=True)) for row in dirty}
    truth = {str(row[0]): dict(zip(names, row, strict=True)) for row in clean}
    seen = set()
    for record in records:
        kind = DefectKind(record["kind"])
        seen.add(kind)
        row, original = by_key[record["row_key"]], truth[record["row_key"]]
        value = row[record["column"]]
        assert record["original"] == (
            original[record["column"]].isoformat()  # type: ignore[union-attr]
            if isinstance(original[record["column"]], date)
            else str(original[record["column"]])
        )
        if kind is K.BAD_ID_CHECK_DIGIT:
            assert not ric_is_valid_checksum(str(value))
        elif kind is K.ID_REGION_INVALID:
            number = str(value)
            assert ric_is_valid_checksum(number)
            assert not region_valid_for_birth_year(number[:6], int(number[6:10]))
        elif kind is K.ID_BIRTHDATE_MISMATCH:
            assert isinstance(value, date)
            assert value.strftime("%Y%m%d") != str(row["id_number"])[6:14]
        elif kind is K.ID_GENDER_MISMATCH:
            assert (value == "男") != (int(str(original["id_number"])[16]) % 2 == 1)
        elif kind is K.MIXED_DATE_FORMAT:
            assert re.fullmatch(
                r"\d{4}年\d{1,2}月\d{1,2}日|\d{8}|\d{4}/\d{1,2}/\d{1,2}", str(value)
            )
        elif kind is K.FULLWIDTH_DIGITS:
            assert re.search("[０-９]", str(value))
        elif kind is K.INVALID_PHONE:
            assert not PHONE.fullmatch(str(value))
        elif kind is K.MISSING_VALUE:
            assert value is None and record["injected"] == ""
    assert seen == {kind for column in HOUSEHOLD_REGISTRY.columns for kind in column.defects}


def test_excel_dates_may_become_serial_numbers() -> None:
    population = Population(random.Random(2), IdSequenceAllocator(), 20_000)
    records = ProviderRecords(2, 20_000)
    rows = [
        r for chunk in population.chunks(10_000) for r in records.derive(chunk)["student_status"]
    ]
    logged, _ = _inject(STUDENT_STATUS, rows)
    serials = [r for r in logged if r["kind"] == "mixed_date_format" and r["injected"].isdigit()]
    serials = [r for r in serials if len(r["injected"]) == 5]
    assert serials
    for record in serials:
        original = date.fromisoformat(record["original"])
        assert (original - date(1899, 12, 30)).days == int(record["injected"])


def test_credit_code_defects_fail_the_check() -> None:
    population = Population(random.Random(3), IdSequenceAllocator(), 30_000)
    records = ProviderRecords(3, 30_000)
    rows = [
        r
        for chunk in population.chunks(10_000)
        for r in records.derive(chunk)["enterprise_registry"]
    ]
    logged, _ = _inject(ENTERPRISE_REGISTRY, rows)
    bad = [r for r in logged if r["kind"] == "bad_credit_code_check"]
    assert bad
    for record in bad:
        assert uscc_is_valid(record["original"]) and not uscc_is_valid(record["injected"])
