"""The shapes CKAN 2.10 clients expect: packages, resources, organizations, groups, tags; the
``fq`` filter language of ``package_search``; action parameters as CKAN clients send them; and
what the actions need of one search index, worked out once per index (``index_view``).

Ids are stable without a table of their own: a package, organization or group id is a UUID 5
of its kind and name, so a harvester that keys on ``id`` sees the same id on every run. A
resource id is ``<dataset name>.<file key>`` (``350100-sthj-0001.csv``): it names the file of
the latest release, whichever version that is.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from rongshu.catalog.schemas import OpenType
from rongshu.core.errors import ValidationFailed
from rongshu.opendata.dcat import MEDIA_TYPES
from rongshu.opendata.releases import FILE_KEYS, file_key
from rongshu.opendata.schemas import (
    LICENCE_URLS,
    DatasetPublic,
    DownloadFormat,
    Licence,
    ReleasePublic,
    Theme,
)
from rongshu.opendata.search import DatasetIndex

_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://rongshu.example/ckan")

_CKAN_FORMATS: Final = {
    DownloadFormat.CSV: "CSV",
    DownloadFormat.XLSX: "XLSX",
    DownloadFormat.JSON: "JSON",
    DownloadFormat.PARQUET: "Parquet",
}
#: CKAN's ``format`` and the MIME type (DCAT's) of each download format.
FORMATS: Final = {fmt: (name, MEDIA_TYPES[fmt]) for fmt, name in _CKAN_FORMATS.items()}
#: CKAN's ``ckan.group_and_organization_list_max`` and ``..._all_fields_max``.
GROUP_LIST_MAX: Final = 1000
GROUP_LIST_ALL_FIELDS_MAX: Final = 25
#: The resource that has the datastore (CKAN's ``datastore_active``).
DATASTORE_KEY: Final = "csv"


def ckan_id(kind: str, name: str) -> str:
    """The stable id of a package, organization or group called ``name``."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def iso(moment: datetime | date | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without the offset."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment.isoformat()
    return moment.isoformat()


def org_name(department_code: str) -> str:
    return department_code.lower()


def names_department(ident: str, code: str) -> bool:
    """Whether ``ident`` is the department ``code`` as CKAN names it: code, name or id."""
    return ident in (code, org_name(code), ckan_id("organization", code))


def organization(
    code: str, title: str, *, package_count: int | None = None, description: str = ""
) -> dict[str, Any]:
    """A department as a CKAN organization."""
    shape: dict[str, Any] = {
        "id": ckan_id("organization", code),
        "name": org_name(code),
        "title": title,
        "display_name": title,
        "description": description,
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        shape["package_count"] = package_count
    return shape


def group(theme: Theme, *, package_count: int | None = None) -> dict[str, Any]:
    """A theme as a CKAN group."""
    shape: dict[str, Any] = {
        "id": ckan_id("group", theme.value),
        "name": theme.value,
        "title": theme.label,
        "display_name": theme.label,
        "description": "",
        "image_url": "",
        "type": "group",
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        shape["package_count"] = package_count
    return shape


def tag(name: str) -> dict[str, Any]:
    return {
        "id": ckan_id("tag", name),
        "name": name,
        "display_name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def resource_label(key: str) -> str:
    """What a resource's name says after the title: ``CSV``, ``CSV, GB18030``, ``Excel``."""
    kind = FILE_KEYS[key]
    if kind.format is DownloadFormat.CSV and kind.encoding != "utf-8":
        return f"CSV, {kind.encoding.upper()}"
    return kind.format.label


def resources(
    dataset: DatasetPublic, release: ReleasePublic | None, package_id: str, base_url: str
) -> list[dict[str, Any]]:
    """One resource per file of ``release`` (the latest downloadable one)."""
    if release is None:
        return []
    made = iso(release.created_at)
    out = []
    for position, file in enumerate(release.files):
        key = file_key(file.format, file.encoding)
        fmt, mimetype = FORMATS[file.format]
        out.append(
            {
                "id": f"{dataset.name}.{key}",
                "package_id": package_id,
                "name": f"{dataset.title} ({resource_label(key)})",
                "description": f"{dataset.title}，第 {release.version} 版，{release.rows} 行。",
                "format": fmt,
                "mimetype": mimetype,
                "encoding": file.encoding or None,
                # The release's own address (a path: the index is built without a base).
                "url": base_url + file.url,
                "url_type": None,
                "size": file.size,
                "hash": f"sha256:{file.sha256}",
                "datastore_active": key == DATASTORE_KEY,
                "created": made,
                "last_modified": made,
                "metadata_modified": made,
                "position": position,
                "state": "active",
                "version": str(release.version),
            }
        )
    return out


def _extras(dataset: DatasetPublic) -> list[dict[str, str]]:
    latest = dataset.latest
    values: dict[str, object] = {
        "access": dataset.access.value,
        "access_label": dataset.access.label,
        "resource_code": dataset.resource_code,
        "frequency": dataset.update_cycle.value,
        "frequency_label": dataset.update_cycle.label,
        "spatial_text": dataset.spatial or None,
        "temporal_start": iso(dataset.temporal_start),
        "temporal_end": iso(dataset.temporal_end),
        "quality_score": dataset.quality_score,
        "views": dataset.views,
        "downloads": dataset.downloads,
        "calls": dataset.calls,
        "rows": latest.rows if latest else None,
        "suppressed_rows": latest.suppressed_rows if latest else None,
        "version": latest.version if latest else None,
    }
    return [{"key": k, "value": str(v)} for k, v in values.items() if v is not None]


def package(dataset: DatasetPublic, base_url: str) -> dict[str, Any]:
    """A dataset as CKAN 2.10's ``package_show`` answers it."""
    package_id = ckan_id("package", dataset.name)
    org = organization(dataset.department_code, dataset.department_name)
    files = resources(dataset, dataset.latest, package_id, base_url)
    return {
        "id": package_id,
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.notes,
        "url": f"{base_url}/datasets/{dataset.name}",
        "state": "active",
        "type": "dataset",
        "private": False,
        "isopen": True,
        "access": dataset.access.value,
        "license_id": dataset.licence.value,
        "license_title": dataset.licence.label,
        "license_url": LICENCE_URLS[dataset.licence],
        "metadata_created": iso(dataset.created_at),
        "metadata_modified": iso(dataset.updated_at),
        "author": dataset.department_name,
        "author_email": None,
        "maintainer": dataset.department_name,
        "maintainer_email": None,
        "version": str(dataset.latest.version) if dataset.latest else None,
        "organization": org,
        "owner_org": org["id"],
        "groups": [group(dataset.theme)],
        "tags": [tag(t) for t in dataset.tags],
        "num_tags": len(dataset.tags),
        "resources": files,
        "num_resources": len(files),
        "extras": _extras(dataset),
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


# -- package_search's fq ---------------------------------------------------------------------

#: ``fq`` fields and the search facet each filters on.
FQ_FIELDS: Final = {
    "organization": "organization",
    "owner_org": "organization",
    "groups": "groups",
    "tags": "tags",
    "res_format": "res_format",
    "license_id": "license_id",
    "access": "access",
}
#: Facets a dataset holds one value of: AND of two different values matches nothing.
SINGLE_VALUED: Final = frozenset({"organization", "groups", "license_id", "access"})
_FIELD: Final = re.compile(r"[+]?([A-Za-z_][A-Za-z0-9_.]*):")
_QUOTED: Final = re.compile(r'"((?:[^"\\]|\\.)*)"')
_BARE: Final = re.compile(r'[^\s()"]+')
_ESCAPE: Final = re.compile(r"\\(.)")


@dataclass
class FilterQuery:
    """Parsed ``fq``: per facet, the clauses a dataset must all match, each a set of values
    any of which will do (``tags:(a OR b)``)."""

    clauses: dict[str, list[list[str]]] = field(default_factory=dict)
    matches_nothing: bool = False


def _bad_fq(reason: str) -> ValidationFailed:
    return invalid("fq", reason)


def _value(text: str, at: int) -> tuple[str, int]:
    quoted = _QUOTED.match(text, at)
    if quoted:
        return _ESCAPE.sub(r"\1", quoted.group(1)), quoted.end()
    bare = _BARE.match(text, at)
    if bare:
        return _ESCAPE.sub(r"\1", bare.group(0)), bare.end()
    raise _bad_fq(f"expected a value at position {at}")


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def parse_fq(text: str) -> FilterQuery:
    """Solr-like ``fq``: clauses ``field:value``, ``field:"quoted value"`` or
    ``field:(a OR b)``, optionally ``+``-prefixed, separated by spaces or ``AND``; every clause
    must hold. ``dataset_type:dataset`` is accepted (every package is one)."""
    parsed = FilterQuery()
    at = _skip_space(text, 0)
    while at < len(text):
        if text.startswith(("AND ", "&& "), at):
            at = _skip_space(text, at + 3)
            continue
        named = _FIELD.match(text, at)
        if not named:
            raise _bad_fq(
                f"cannot read {text[at : at + 30]!r}; write field:value clauses with the "
                f"fields {', '.join(FQ_FIELDS)}"
            )
        name = named.group(1)
        at = named.end()
        if at < len(text) and text[at] == "(":
            values: list[str] = []
            at = _skip_space(text, at + 1)
            while True:
                value, at = _value(text, at)
                values.append(value)
                at = _skip_space(text, at)
                if text.startswith(")", at):
                    at += 1
                    break
                if text.startswith("OR ", at) or text.startswith("||", at):
                    at = _skip_space(text, at + 2)
                    continue
                raise _bad_fq("values in parentheses are joined with OR")
        else:
            value, at = _value(text, at)
            values = [value]
        if name == "dataset_type":
            if any(v != "dataset" for v in values):
                parsed.matches_nothing = True
        elif name in FQ_FIELDS:
            parsed.clauses.setdefault(name, []).append(values)
        else:
            raise _bad_fq(f"cannot filter on {name}; use {', '.join(FQ_FIELDS)}")
        at = _skip_space(text, at)
    return parsed


def facet_filters(
    parsed: FilterQuery, to_facet: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, list[str]], list[dict[str, list[str]]], bool]:
    """The search filters for ``parsed``: the first clause of each facet as ``filters``, the
    rest as groups that must also hold, and whether nothing can match.

    ``to_facet`` maps an ``fq`` field's values to the facet values the index stores (an
    organization's name to its department code, ``XLSX`` to ``Excel``); values it does not
    know are kept as given (they match nothing).
    """
    by_facet: dict[str, list[list[str]]] = {}
    for name, clauses in parsed.clauses.items():
        mapping = to_facet.get(name, {})
        facet = FQ_FIELDS[name]
        for values in clauses:
            by_facet.setdefault(facet, []).append([mapping.get(v, v) for v in values])
    filters: dict[str, list[str]] = {}
    extra: list[dict[str, list[str]]] = []
    nothing = parsed.matches_nothing
    for facet, clauses in by_facet.items():
        if facet in SINGLE_VALUED:
            kept = set(clauses[0]).intersection(*clauses[1:])
            nothing = nothing or not kept
            filters[facet] = sorted(kept)
            continue
        filters[facet] = clauses[0]
        for position, values in enumerate(clauses[1:]):
            if len(extra) <= position:
                extra.append({})
            extra[position][facet] = values
    return filters, extra, nothing


def facet_display(facet: str, value: str, titles: Mapping[str, str]) -> tuple[str, str]:
    """A stored facet value as CKAN names and shows it: (name, display_name)."""
    if facet == "organization":
        return org_name(value), titles.get(value, value)
    if facet == "groups":
        try:
            return value, Theme(value).label
        except ValueError:
            return value, value
    if facet == "res_format":
        for fmt, (ckan, _) in FORMATS.items():
            if fmt.label == value:
                return ckan, ckan
        return value, value
    if facet == "license_id":
        try:
            return value, Licence(value).label
        except ValueError:
            return value, value
    if facet == "access":
        try:
            return value, OpenType(value).label
        except ValueError:
            return value, value
    return value, value


def fq_values(datasets: Sequence[DatasetPublic]) -> dict[str, dict[str, str]]:
    """How ``fq`` values map to stored facet values, for ``facet_filters``."""
    organizations = {org_name(d.department_code): d.department_code for d in datasets}
    owners = {ckan_id("organization", d.department_code): d.department_code for d in datasets}
    formats = {ckan: fmt.label for fmt, (ckan, _) in FORMATS.items()}
    formats.update({ckan.lower(): label for ckan, label in formats.items()})
    formats.update({fmt.label.lower(): fmt.label for fmt in FORMATS})
    return {"organization": organizations, "owner_org": owners, "res_format": formats}


# -- action parameters ----------------------------------------------------------------------


def invalid(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {reason}", details=[{"field": field, "reason": reason}])


def text_param(params: Mapping[str, Any], name: str, default: str = "") -> str:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[-1] if value else default
    if isinstance(value, dict | list):
        raise invalid(name, "must be text")
    return str(value)


def required_param(params: Mapping[str, Any], name: str) -> str:
    value = text_param(params, name).strip()
    if not value:
        raise invalid(name, "Missing value")
    return value


def int_param(
    params: Mapping[str, Any],
    name: str,
    default: int,
    *,
    minimum: int | None = 0,
    maximum: int | None = None,
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or isinstance(raw, dict | list):
        raise invalid(name, "Invalid integer")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise invalid(name, "Invalid integer") from None
    if minimum is not None and value < minimum:
        raise invalid(name, f"Must be a natural number of at least {minimum}")
    if maximum is not None and value > maximum:
        raise invalid(name, f"Must be less than or equal to {maximum}")
    return value


def bool_param(params: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise invalid(name, "Must be true or false")


def _json_text(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise invalid(name, "Could not parse as valid JSON") from None


def list_param(params: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings: a JSON list, JSON text of one (GET), or comma-separated text."""
    raw = params.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = _json_text(name, raw) if raw.strip().startswith("[") else raw.split(",")
    if not isinstance(raw, list) or any(isinstance(v, dict | list) for v in raw):
        raise invalid(name, "Must be a list of strings")
    return [str(v).strip() for v in raw if str(v).strip()]


def dict_param(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        raw = _json_text(name, raw)
    if not isinstance(raw, dict):
        raise invalid(name, "Must be a JSON object")
    return raw


# -- what one search index gives the actions, worked out once per index --------------------


@dataclass(frozen=True)
class IndexView:
    """Datasets by name and id, departments, themes and tags of one ``DatasetIndex``."""

    by_name: dict[str, DatasetPublic]
    aliases: dict[str, str]  # package id, resource code → name
    departments: dict[str, tuple[str, int]]  # code → (title, datasets)
    themes: dict[Theme, int]
    tags: dict[str, int]
    fq: dict[str, dict[str, str]]

    def dataset_name(self, ident: str) -> str:
        return self.aliases.get(ident, ident)

    def department(self, ident: str) -> str | None:
        return next((code for code in self.departments if names_department(ident, code)), None)


_views: weakref.WeakKeyDictionary[DatasetIndex, IndexView] = weakref.WeakKeyDictionary()
_views_lock = threading.Lock()


def index_view(index: DatasetIndex) -> IndexView:
    with _views_lock:
        found = _views.get(index)
        if found is not None:
            return found
        datasets = index.datasets
        aliases: dict[str, str] = {}
        for d in datasets:
            aliases[ckan_id("package", d.name)] = d.name
            aliases[d.resource_code] = d.name
        counts = Counter(d.department_code for d in datasets)
        titles = {d.department_code: d.department_name for d in datasets}
        made = IndexView(
            by_name={d.name: d for d in datasets},
            aliases=aliases,
            departments={code: (titles[code], n) for code, n in counts.items()},
            themes=dict(Counter(d.theme for d in datasets)),
            tags=dict(Counter(t for d in datasets for t in d.tags)),
            fq=fq_values(datasets),
        )
        _views[index] = made
        return made


# -- identifiers and lists as CKAN clients send them ---------------------------------


def resource_ident(ident: str) -> tuple[str, str | None]:
    """``<name>.<key>`` → (name, key); a bare dataset name → (name, None)."""
    name, dot, key = ident.rpartition(".")
    if dot and key in FILE_KEYS:
        return name, key
    return ident, None


def sorted_groups(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Organizations or groups in CKAN's ``sort``: ``title asc`` (default), ``name``, or
    ``package_count``."""
    words = (sort or "title asc").split()
    key = words[0] if words else "title"
    direction = words[1].lower() if len(words) > 1 else "asc"
    if key not in ("name", "title", "package_count") or direction not in ("asc", "desc"):
        raise invalid("sort", "sort by name, title or package_count, asc or desc")
    if len(words) > 2:
        raise invalid("sort", "sort by one field")
    return sorted(items, key=lambda i: (i[key], i["name"]), reverse=direction == "desc")


def group_page(params: Mapping[str, Any], items: list[dict[str, Any]], wanted: str) -> list[Any]:
    """One page of ``organization_list`` or ``group_list``: names, or whole shapes with
    ``all_fields``; capped as CKAN caps them (1000 names, 25 whole ones)."""
    all_fields = bool_param(params, "all_fields", False)
    cap = GROUP_LIST_ALL_FIELDS_MAX if all_fields else GROUP_LIST_MAX
    limit = min(int_param(params, "limit", cap), cap)
    offset = int_param(params, "offset", 0)
    only = list_param(params, wanted)
    if only:
        items = [i for i in items if i["name"] in only or i["id"] in only]
    page = sorted_groups(items, text_param(params, "sort"))[offset : offset + limit]
    if all_fields:
        if not bool_param(params, "include_dataset_count", True):
            for item in page:
                item.pop("package_count", None)
        return page
    return [item["name"] for item in page]
