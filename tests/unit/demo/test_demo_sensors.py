"""Sensor series: the right number of readings, one year at most, values that hang together."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from rongshu.demo.schema import AIR_QUALITY, PARKING_OCCUPANCY, WATER_LEVELS, TableSpec
from rongshu.demo.sensors import air_quality, iaqi, parking, station_position, water_levels

Series = Callable[[random.Random, int, int], Iterator[list[list[object]]]]


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
    times = [datetime.fromisoformat(str(row[names.index("time")])) for row in rows]
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


@pytest.mark.parametrize(
    ("spec", "series"), [(AIR_QUALITY, air_quality), (WATER_LEVELS, water_levels)]
)
def test_stations_stand_still_inside_the_city(spec: TableSpec, series: Series) -> None:
    rows = [row for chunk in series(random.Random(4), 100_000, 20_000) for row in chunk]
    at = spec.index("station_code"), spec.index("longitude"), spec.index("latitude")
    places: dict[object, set[tuple[object, object]]] = {}
    for row in rows:
        places.setdefault(row[at[0]], set()).add((row[at[1]], row[at[2]]))
    assert len(places) > 10
    for code, seen in places.items():
        assert len(seen) == 1, code  # the same place in every reading
        ((longitude, latitude),) = seen
        assert isinstance(longitude, float) and isinstance(latitude, float)
        assert 119.0 <= longitude <= 119.6 and 25.8 <= latitude <= 26.3, code
        # Six decimals, and the text of the number shows all six.
        assert len(str(longitude).split(".")[1]) == 6 and len(str(latitude).split(".")[1]) == 6
    assert len({seen.pop() for seen in places.values()}) == len(places)  # no two share a place


def test_a_station_is_at_the_same_place_in_every_city() -> None:
    assert station_position("3501AQ0001", "350111") == station_position("3501AQ0001", "350111")
    assert station_position("3501AQ0001", "350111") != station_position("3501AQ0002", "350111")
