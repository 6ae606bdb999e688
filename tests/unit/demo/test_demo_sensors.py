"""Sensor series: the right number of readings, one year at most, values that hang together."""

from __future__ import annotations

import json
import random
from datetime import datetime

import pytest

from rongshu.demo.schema import AIR_QUALITY, PARKING_OCCUPANCY, WATER_LEVELS
from rongshu.demo.sensors import air_quality, iaqi, parking, water_levels


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (35, 50), (75, 100), (115, 150), (55, 75), (600, 500)]
)
def test_pm25_individual_index_follows_hj_633(value: float, expected: int) -> None:
    assert iaqi("PM2.5", value) == expected


def test_air_quality_rows_are_consistent() -> None:
    rows = [row for chunk in air_quality(random.Random(1), 5_000, 1_000) for row in chunk]
    assert len(rows) == 5_000
    names = AIR_QUALITY.column_names
    for row in rows:
        reading = dict(zip(names, row, strict=True))
        pollutants = {
            "PM2.5": reading["pm25"], "PM10": reading["pm10"], "SO2": reading["so2"],
            "NO2": reading["no2"], "CO": reading["co"], "O3": reading["o3"],
        }  # fmt: skip
        indexes = {k: iaqi(k, float(v)) for k, v in pollutants.items()}  # type: ignore[arg-type]
        assert reading["aqi"] == max(indexes.values())
        if reading["aqi"] > 50:
            assert indexes[str(reading["primary_pollutant"])] == reading["aqi"]
    times = [datetime.fromisoformat(str(row[4])) for row in rows]
    assert times == sorted(times)
    assert times[-1] == datetime(2024, 12, 31, 23, 0)
    json.dumps(rows)  # plain JSON values only


def test_big_series_add_stations_instead_of_years() -> None:
    rows = [row for chunk in water_levels(random.Random(2), 200_000, 50_000) for row in chunk]
    assert len(rows) == 200_000
    first = datetime.fromisoformat(str(rows[0][WATER_LEVELS.index("time")]))
    assert first.year == 2024
    assert len({row[1] for row in rows}) > 20


def test_car_parks_never_hold_more_cars_than_spaces() -> None:
    names = PARKING_OCCUPANCY.column_names
    rows = [
        dict(zip(names, r, strict=True)) for c in parking(random.Random(3), 4_000, 500) for r in c
    ]
    assert len(rows) == 4_000
    for row in rows:
        assert 0 <= row["occupiedSpaces"] <= row["totalSpaces"]  # type: ignore[operator]
        assert row["freeSpaces"] == row["totalSpaces"] - row["occupiedSpaces"]  # type: ignore[operator]
    stamps = [row["updateTime"] for row in rows]
    assert stamps == sorted(stamps)
    assert datetime.fromtimestamp(int(stamps[-1]) / 1000).year == 2024  # type: ignore[call-overload]
