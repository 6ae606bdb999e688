"""The chart on a dataset's page, when the data suits one.

- A time column (timestamp or date) and a numeric column: a line of the numeric column's
  average over time, in buckets (minute, hour, day, month, year: the finest that keeps the line
  within ``MAX_POINTS``), in Beijing time.
- Otherwise a category column (text with 2 to ``MAX_CATEGORIES`` distinct values): bars of a
  numeric column's average per category, or of the row count per category when no column is
  numeric.
- Otherwise nothing.

Key-like columns (``*_id``, 编号, 编码, 代码) are neither measured nor used as categories, and
coordinates (longitude, latitude) are not measured. A release's files never change, so answers
are cached by the file's path, size and time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rongshu.opendata.schemas import ReleaseField

MAX_POINTS: Final = 2000
MAX_CATEGORIES: Final = 30
#: Text columns looked at for categories; wide tables do not cost a full read.
MAX_CATEGORY_CANDIDATES: Final = 8
LOCAL_ZONE: Final = "Asia/Shanghai"
_KEY_WORDS: Final = ("编号", "编码", "代码", "序号")
#: Coordinates are numbers, but their average over time or per category says nothing.
_COORDINATE_NAMES: Final = frozenset({"longitude", "latitude", "lon", "lng", "lat"})
_COORDINATE_WORDS: Final = ("经度", "纬度", "坐标")
#: Buckets, finest first: pyarrow's unit, its length, and how its labels are written.
_BUCKETS: Final = (
    ("minute", timedelta(minutes=1), "%Y-%m-%d %H:%M"),
    ("hour", timedelta(hours=1), "%Y-%m-%d %H:%M"),
    ("day", timedelta(days=1), "%Y-%m-%d"),
    ("month", timedelta(days=31), "%Y-%m"),
    ("year", timedelta(days=366), "%Y"),
)

ChartKind = Literal["line", "bar"]


@dataclass(frozen=True)
class Column:
    """A release column as the chart needs it (hashable, so answers can be cached)."""

    name: str
    label: str
    type: str


@dataclass(frozen=True)
class ChartPlan:
    """What the chart shows: ``x`` the time or category column; ``measures`` the numeric
    columns one may choose (empty: rows are counted)."""

    kind: ChartKind
    x: Column
    measures: tuple[Column, ...]

    def measure(self, name: str | None) -> Column | None:
        """The chosen numeric column (the first when ``name`` is not one of them)."""
        for field in self.measures:
            if field.name == name:
                return field
        return self.measures[0] if self.measures else None


def _is_key(field: Column) -> bool:
    name = field.name.lower()
    return (
        name in ("id", "_id") or name.endswith("_id") or any(w in field.label for w in _KEY_WORDS)
    )


def _is_coordinate(field: Column) -> bool:
    return field.name.lower() in _COORDINATE_NAMES or any(
        w in field.label for w in _COORDINATE_WORDS
    )


def _type(field: Column) -> str:
    text = field.type.lower()
    if text.startswith(("timestamp", "date")):
        return "time"
    if text.startswith(("int", "uint", "double", "float", "decimal", "halffloat")):
        return "number"
    if text in ("string", "large_string", "utf8", "large_utf8"):
        return "text"
    return "other"


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def plan_chart(path: Path, fields: Sequence[ReleaseField]) -> ChartPlan | None:
    """The chart the release file at ``path`` suits, or None."""
    if not path.is_file():
        return None
    return _plan(_stamp(path), tuple(Column(f.name, f.label, f.type) for f in fields))


# Small caches per process (lru_cache is thread-safe): the file behind a stamp never changes.
@lru_cache(maxsize=128)
def _plan(stamp: tuple[str, int, int], fields: tuple[Column, ...]) -> ChartPlan | None:
    usable = [f for f in fields if not _is_key(f)]
    measures = tuple(f for f in usable if _type(f) == "number" and not _is_coordinate(f))
    times = [f for f in usable if _type(f) == "time"]
    if times and measures:
        return ChartPlan("line", times[0], measures)
    candidates = [f for f in usable if _type(f) == "text"][:MAX_CATEGORY_CANDIDATES]
    if not candidates:
        return None
    table = pq.read_table(stamp[0], columns=[f.name for f in candidates])
    if table.num_rows == 0:
        return None
    best: tuple[int, Column] | None = None
    for field in candidates:
        distinct = pc.count_distinct(table.column(field.name)).as_py()
        # The fewest categories above one reads best; ties go to the earlier column.
        if 2 <= distinct <= MAX_CATEGORIES and (best is None or distinct < best[0]):
            best = (distinct, field)
    return ChartPlan("bar", best[1], measures) if best else None


def chart_data(path: Path, plan: ChartPlan, measure: str | None = None) -> dict[str, Any]:
    """The chart's points: ``x`` labels and ``y`` values, with what they are."""
    chosen = plan.measure(measure)
    return _data(_stamp(path), plan, chosen.name if chosen else None)


@lru_cache(maxsize=128)
def _data(stamp: tuple[str, int, int], plan: ChartPlan, measure: str | None) -> dict[str, Any]:
    columns = [plan.x.name] + ([measure] if measure else [])
    table = pq.read_table(stamp[0], columns=columns)
    x = table.column(plan.x.name)
    if plan.kind == "line":
        return _line(x, table.column(measure) if measure else None, plan, measure)
    return _bars(x, table.column(measure) if measure else None, plan, measure)


def _local(times: pa.ChunkedArray) -> pa.ChunkedArray:
    """Times as Beijing wall-clock times (dates at midnight)."""
    if pa.types.is_date(times.type):
        times = times.cast(pa.timestamp("s"))
    if times.type.tz is None:
        # Naive times are taken as written (the catalog stores UTC; dates have no zone).
        return pc.assume_timezone(times, LOCAL_ZONE)
    return times.cast(pa.timestamp(times.type.unit, tz=LOCAL_ZONE))


def _line(
    times: pa.ChunkedArray, values: pa.ChunkedArray | None, plan: ChartPlan, measure: str | None
) -> dict[str, Any]:
    table = pa.table({"t": _local(times), "v": values if values is not None else times})
    table = table.filter(pc.and_(pc.is_valid(table["t"]), pc.is_valid(table["v"])))
    if table.num_rows == 0:
        return _answer(plan, measure, "", [], [])
    low, high = pc.min(table["t"]).as_py(), pc.max(table["t"]).as_py()
    # The finest bucket that keeps the line within MAX_POINTS (years always do).
    unit, _, label = next((b for b in _BUCKETS if (high - low) / b[1] < MAX_POINTS), _BUCKETS[-1])
    bucket = pc.floor_temporal(table["t"], unit=unit)
    grouped = (
        pa.table({"b": bucket, "v": table["v"].cast(pa.float64())})
        .group_by("b")
        .aggregate([("v", "mean")])
        .sort_by("b")
    )
    labels = pc.strftime(grouped["b"], format=label).to_pylist()
    means = [None if v is None else round(v, 2) for v in grouped["v_mean"].to_pylist()]
    return _answer(plan, measure, unit, labels[:MAX_POINTS], means[:MAX_POINTS])


def _bars(
    categories: pa.ChunkedArray,
    values: pa.ChunkedArray | None,
    plan: ChartPlan,
    measure: str | None,
) -> dict[str, Any]:
    table = pa.table({"c": categories, "v": values if values is not None else categories})
    table = table.filter(pc.is_valid(table["c"]))
    if values is None:
        grouped = table.group_by("c").aggregate([("c", "count")]).rename_columns(["c", "y"])
    else:
        table = table.set_column(1, "v", table["v"].cast(pa.float64()))
        grouped = table.group_by("c").aggregate([("v", "mean")]).rename_columns(["c", "y"])
    grouped = grouped.sort_by([("y", "descending"), ("c", "ascending")]).slice(0, MAX_CATEGORIES)
    ys = grouped["y"].to_pylist()
    if values is not None:
        ys = [None if v is None else round(v, 2) for v in ys]
    return _answer(plan, measure, "", [str(c) for c in grouped["c"].to_pylist()], ys)


def _answer(
    plan: ChartPlan, measure: str | None, unit: str, x: list[Any], y: list[Any]
) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "x_field": plan.x.name,
        "measure": measure,
        "aggregate": "mean" if measure else "count",
        "bucket": unit,
        "x": x,
        "y": y,
    }
