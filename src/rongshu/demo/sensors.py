"""Sensor time series: air quality (生态环境), river levels (水利) and car parks (交通).

A series ends at the end of the reference year and covers up to one year; larger cities get
more stations (micro-stations, extra gauges, more car parks) instead of a longer past. Values
follow daily and seasonal cycles with autocorrelated noise, and AQI is computed from the
concentrations by HJ 633-2012, so consistency checks have something true to find. Every
station stands at one place near its district's seat, given to six decimals in each reading.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from rongshu.demo.population import REFERENCE_DATE
from rongshu.demo.regions import (
    DISTRICT_CENTRES,
    DISTRICTS,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    District,
)

Rows = list[list[object]]

_END = datetime(REFERENCE_DATE.year, REFERENCE_DATE.month, REFERENCE_DATE.day, 23, 45)
_EPOCH_MS_AT_UTC8 = datetime(1970, 1, 1, 8, 0)


@dataclass(frozen=True, slots=True)
class _Layout:
    stations: int
    steps: int
    step: timedelta

    @classmethod
    def plan(cls, total: int, base: int, step: timedelta) -> _Layout:
        per_year = int(timedelta(days=366) / step)
        stations = max(base, math.ceil(total / per_year))
        return cls(stations, max(1, math.ceil(total / stations)), step)

    def times(self, end: datetime) -> Iterator[datetime]:
        start = end - self.step * (self.steps - 1)
        for index in range(self.steps):
            yield start + self.step * index


def _degrees(value: float, bounds: tuple[float, float]) -> float:
    """Inside the city's bounds, to a millionth of a degree (the last decimal never 0, so every
    export shows all six)."""
    low, high = bounds
    micro = round(min(max(value, low + 0.005), high - 0.005) * 1_000_000)
    if micro % 10 == 0:
        micro += 1
    return micro / 1_000_000


def station_position(station_code: str, district_code: str) -> tuple[float, float]:
    """A station's longitude and latitude: a few kilometres from its district's seat, the same
    for the same station in every city generated."""
    longitude, latitude = DISTRICT_CENTRES[district_code]
    spread = random.Random(station_code)
    return (
        _degrees(longitude + spread.uniform(-0.04, 0.04), LONGITUDE_RANGE),
        _degrees(latitude + spread.uniform(-0.03, 0.03), LATITUDE_RANGE),
    )


# -------------------------------------------------------------------------------- air quality

_BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "SO2": (0, 150, 500, 650, 800, 1600, 2100, 2620),
    "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "CO": (0, 5, 10, 35, 60, 90, 120, 150),
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
}
_IAQI = (0, 50, 100, 150, 200, 300, 400, 500)
_LEVELS = ((50, "优"), (100, "良"), (150, "轻度污染"), (200, "中度污染"), (300, "重度污染"))

_AIR_STATIONS: tuple[tuple[str, str, float], ...] = (
    ("鼓山", "350111", 0.8), ("快安", "350105", 1.0), ("师大", "350104", 1.0),
    ("紫阳", "350111", 1.1), ("杨桥西路", "350102", 1.15), ("五四北路", "350102", 1.1),
    ("台江", "350103", 1.1), ("长乐吴航", "350112", 0.95), ("福清融城", "350181", 1.05),
    ("闽侯上街", "350121", 1.0), ("连江凤城", "350122", 0.95), ("罗源凤山", "350123", 0.9),
    ("闽清梅城", "350124", 0.85), ("永泰樟城", "350125", 0.8), ("平潭潭城", "350128", 0.75),
)  # fmt: skip


def iaqi(pollutant: str, value: float) -> int:
    """The individual air quality index of one concentration (HJ 633-2012)."""
    points = _BREAKPOINTS[pollutant]
    for i in range(1, len(points)):
        if value <= points[i]:
            low, high = points[i - 1], points[i]
            return math.ceil(
                (_IAQI[i] - _IAQI[i - 1]) / (high - low) * (value - low) + _IAQI[i - 1]
            )
    return 500


def _district_stations(
    count: int, base: tuple[tuple[str, str, float], ...], suffix: str
) -> list[tuple[str, District, float]]:
    by_code = {district.code: district for district in DISTRICTS}
    stations = [(name, by_code[code], factor) for name, code, factor in base]
    extra = 0
    while len(stations) < count:
        district = DISTRICTS[extra % len(DISTRICTS)]
        road = district.roads[(extra // len(DISTRICTS)) % len(district.roads)]
        stations.append((f"{road}{suffix}{extra + 1}", district, 1.0))
        extra += 1
    return stations


def air_quality(rng: random.Random, total: int, chunk: int) -> Iterator[Rows]:
    """Hourly readings of every station, oldest first, ``total`` rows in chunks."""
    layout = _Layout.plan(total, len(_AIR_STATIONS), timedelta(hours=1))
    stations = _district_stations(layout.stations, _AIR_STATIONS, "微站")
    places = [
        station_position(f"3501AQ{index + 1:04d}", district.code)
        for index, (_, district, _) in enumerate(stations)
    ]
    noise = [0.0] * len(stations)
    rows: Rows = []
    written = 0
    for moment in layout.times(_END.replace(minute=0)):
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        day = moment.timetuple().tm_yday
        season = 1 + 0.35 * math.cos(2 * math.pi * (day - 15) / 366)
        hour = moment.hour
        rush = 1 + 0.25 * math.exp(-((hour - 8) ** 2) / 4) + 0.3 * math.exp(-((hour - 19) ** 2) / 6)
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0
        summer = 1 + 0.3 * math.sin(2 * math.pi * (day - 100) / 366)
        for index, (name, district, factor) in enumerate(stations):
            if written == total:
                break
            noise[index] = 0.9 * noise[index] + rng.gauss(0, 0.12)
            level = math.exp(noise[index])
            pm25 = max(2.0, round(24 * factor * season * rush * level))
            pm10 = round(pm25 * rng.uniform(1.4, 2.0))
            no2 = max(3.0, round(22 * factor * rush * level + rng.uniform(-3, 3)))
            so2 = float(max(2, round(5 * level + rng.uniform(-1, 1))))
            o3 = max(5.0, round((30 + 120 * sun * summer) * rng.uniform(0.85, 1.15)))
            co = round(0.6 * season * level, 1)
            indexes = {
                "PM2.5": iaqi("PM2.5", pm25),
                "PM10": iaqi("PM10", pm10),
                "SO2": iaqi("SO2", so2),
                "NO2": iaqi("NO2", no2),
                "CO": iaqi("CO", co),
                "O3": iaqi("O3", o3),
            }
            aqi = max(indexes.values())
            primary = max(indexes, key=lambda key: indexes[key]) if aqi > 50 else "—"
            quality = next((label for bound, label in _LEVELS if aqi <= bound), "严重污染")
            written += 1
            rows.append([
                written, f"3501AQ{index + 1:04d}", name, *places[index], district.code, stamp,
                float(pm25), float(pm10), so2, float(no2), float(o3), co, aqi, quality, primary,
            ])  # fmt: skip
            if len(rows) >= chunk:
                yield rows
                rows = []
    if rows:
        yield rows


# -------------------------------------------------------------------------------- river levels

# (name, district, river, mean level m, warning level m, tidal amplitude m, mean flow m³/s)
_GAUGES: tuple[tuple[str, str, str, float, float, float, float | None], ...] = (
    ("竹岐", "350121", "闽江", 5.2, 11.5, 0.3, 1700.0),
    ("解放大桥", "350103", "闽江", 3.0, 7.0, 1.6, None),
    ("白岩潭", "350105", "闽江", 2.6, 6.5, 1.9, None),
    ("峡南", "350104", "乌龙江", 3.2, 7.2, 1.7, None),
    ("永泰", "350125", "大樟溪", 86.5, 92.0, 0.0, 80.0),
    ("塘坂", "350122", "敖江", 12.0, 16.5, 0.0, 120.0),
    ("宏路", "350181", "龙江", 8.2, 11.0, 0.0, 25.0),
    ("梅溪口", "350124", "梅溪", 22.0, 27.0, 0.0, 60.0),
)
_TIDE_HOURS = 12.42
#: Tidal gauges measure the level only: their flow column is empty in good data.
LEVEL_ONLY_GAUGES: tuple[str, ...] = tuple(name for name, *_, flow in _GAUGES if flow is None)


def water_levels(rng: random.Random, total: int, chunk: int) -> Iterator[Rows]:
    """Hourly levels of every gauge, oldest first; floods come with plum rains and typhoons."""
    layout = _Layout.plan(total, len(_GAUGES), timedelta(hours=1))
    gauges = list(_GAUGES)
    extra = 0
    while len(gauges) < layout.stations:
        district = DISTRICTS[extra % len(DISTRICTS)]
        town = district.towns[(extra // len(DISTRICTS)) % len(district.towns)]
        base = rng.uniform(3, 40)
        gauges.append(
            (f"{town}{extra + 1}号", district.code, "闽江支流", base, base + 4, 0.0, 15.0)
        )
        extra += 1
    places = [
        station_position(f"3501SW{index + 1:04d}", gauge[1]) for index, gauge in enumerate(gauges)
    ]
    flood = [0.0] * len(gauges)
    rows: Rows = []
    written = 0
    for moment in layout.times(_END.replace(minute=0)):
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
        day = moment.timetuple().tm_yday
        wet = max(0.0, math.sin(math.pi * (day - 110) / 170)) if 110 <= day <= 280 else 0.0
        hours = (moment - _END).total_seconds() / 3600
        tide = math.sin(2 * math.pi * hours / _TIDE_HOURS)
        for index, (name, code, river, mean, warning, amplitude, flow) in enumerate(gauges):
            if written == total:
                break
            if rng.random() < 0.002 * (1 + 6 * wet):
                flood[index] += rng.uniform(0.5, 1.2) * (warning - mean)
            flood[index] *= 0.97
            level = mean + 0.8 * wet + amplitude * tide + flood[index] + rng.gauss(0, 0.03)
            discharge = None
            if flow is not None:
                discharge = round(flow * (1 + wet) * math.exp(flood[index] / 2), 1)
            written += 1
            rows.append([
                written, f"3501SW{index + 1:04d}", name, *places[index], code, river, stamp,
                round(level, 2), warning, discharge,
            ])  # fmt: skip
            if len(rows) >= chunk:
                yield rows
                rows = []
    if rows:
        yield rows


# -------------------------------------------------------------------------------- car parks

# (name, district, spaces, profile)
_LOTS: tuple[tuple[str, str, int, str], ...] = (
    ("东街口地下停车场", "350102", 620, "commercial"),
    ("三坊七巷南后街停车场", "350102", 380, "scenic"),
    ("五四路公共停车场", "350102", 240, "office"),
    ("台江万象城停车场", "350103", 1800, "commercial"),
    ("中亭街停车场", "350103", 450, "commercial"),
    ("仓山万达广场停车场", "350104", 2100, "commercial"),
    ("火车南站停车场", "350104", 1500, "transit"),
    ("烟台山公园停车场", "350104", 260, "scenic"),
    ("马尾罗星塔公园停车场", "350105", 180, "scenic"),
    ("火车站北广场停车场", "350111", 1200, "transit"),
    ("东二环泰禾广场停车场", "350111", 1900, "commercial"),
    ("鼓山风景区停车场", "350111", 520, "scenic"),
    ("长乐国际机场停车楼", "350112", 3200, "transit"),
    ("长乐吴航路公共停车场", "350112", 300, "office"),
    ("闽侯大学城停车场", "350121", 800, "office"),
    ("市第一医院停车场", "350102", 420, "hospital"),
    ("市妇幼保健院停车场", "350102", 260, "hospital"),
    ("福清万达广场停车场", "350181", 1600, "commercial"),
    ("平潭海坛古城停车场", "350128", 900, "scenic"),
    ("连江县政府停车场", "350122", 200, "office"),
)


def _demand(profile: str, hour: float, weekend: bool) -> float:
    def bump(center: float, width: float) -> float:
        return math.exp(-((hour - center) ** 2) / (2 * width**2))

    if profile == "commercial":
        return 0.15 + 0.55 * bump(15, 3) + 0.3 * bump(20, 2) + (0.15 if weekend else 0.0)
    if profile == "office":
        return 0.1 + (0.25 if weekend else 0.8) * bump(13, 3.5)
    if profile == "transit":
        return 0.35 + 0.45 * bump(12, 5)
    if profile == "hospital":
        return 0.1 + 0.85 * bump(10.5, 2.5)
    return 0.05 + (0.9 if weekend else 0.45) * bump(13, 3)  # scenic


def parking(rng: random.Random, total: int, chunk: int) -> Iterator[Rows]:
    """Occupancy of every car park every 15 minutes, oldest first."""
    layout = _Layout.plan(total, len(_LOTS), timedelta(minutes=15))
    lots = list(_LOTS)
    extra = 0
    while len(lots) < layout.stations:
        district = DISTRICTS[extra % len(DISTRICTS)]
        road = district.roads[(extra // len(DISTRICTS)) % len(district.roads)]
        lots.append(
            (f"{road}{extra + 1}号路内停车泊位", district.code, rng.randrange(30, 200), "office")
        )
        extra += 1
    rows: Rows = []
    written = 0
    for moment in layout.times(_END):
        millis = int((moment - _EPOCH_MS_AT_UTC8).total_seconds()) * 1000
        hour = moment.hour + moment.minute / 60
        weekend = moment.weekday() >= 5
        for index, (name, code, spaces, profile) in enumerate(lots):
            if written == total:
                break
            share = _demand(profile, hour, weekend) + rng.gauss(0, 0.04)
            occupied = min(spaces, max(0, round(spaces * share)))
            written += 1
            rows.append([
                written, f"P{code}{index + 1:04d}", name, code, spaces, occupied,
                spaces - occupied, millis,
            ])  # fmt: skip
            if len(rows) >= chunk:
                yield rows
                rows = []
    if rows:
        yield rows
