"""The resource edit form: a declaration as HTML form values and back, with every problem kept
next to the input it concerns.

Inputs are named like the paths the catalog rules report (``legal_basis``,
``fields[2].data_type``), so a reason from ``rules.check_resource`` lands beside its input.
Field rows are numbered as the form shows them; blank rows and rows marked for removal are left
out of the declaration, and ``ResourceForm`` remembers which row became which field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from rongshu.catalog.messages import register_catalog_messages
from rongshu.catalog.schemas import Grade, ResourcePublic, ResourceSpec
from rongshu.core.i18n import translate

#: Resource inputs that are plain text (or one choice) in the form.
RESOURCE_INPUTS = (
    "code",
    "name",
    "catalog_type",
    "classification_code",
    "summary",
    "format",
    "share_type",
    "share_condition",
    "open_type",
    "open_condition",
    "legal_basis",
    "update_cycle",
    "publish_date",
    "related",
    "grade",
    "reason",
)
#: Inputs in the order the form shows them (problems are listed in this order).
_FORM_ORDER = (
    "code",
    "name",
    "catalog_type",
    "classification_code",
    "format",
    "update_cycle",
    "publish_date",
    "grade",
    "summary",
    "related",
    "share_type",
    "share_condition",
    "share_methods",
    "open_type",
    "open_condition",
    "legal_basis",
    "fields",
)
_ROW_COLUMNS = (
    "name",
    "english_name",
    "data_type",
    "length",
    "is_key",
    "is_personal",
    "grade",
    "rules",
    "description",
)
#: Blank rows a new form starts with, and how many the no-script "more rows" button adds.
NEW_FORM_ROWS = 3
ADDED_ROWS = 5
MAX_ROWS = 1000
LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")
_ROW_INPUT = re.compile(r"^fields\[(\d+)\]\.(\w+)$")
_PATH_ROW = re.compile(r"^fields\[(\d+)\](.*)$")

register_catalog_messages()  # the problems below are worded in the catalog's messages


def split_list(text: str) -> list[str]:
    """``not_null、ric`` or ``a, b; c`` as a list, blanks dropped."""
    return [part for part in LIST_SEPARATORS.split(text.strip()) if part]


@dataclass
class FieldRow:
    """One information item as the form shows it (text as typed)."""

    name: str = ""
    english_name: str = ""
    data_type: str = ""
    length: str = ""
    description: str = ""
    is_key: bool = False
    is_personal: bool = False
    grade: str = Grade.GENERAL_1.value
    rules: str = ""

    def is_blank(self) -> bool:
        typed = (self.name, self.english_name, self.data_type, self.length, self.description)
        return not any(v.strip() for v in typed) and not self.rules.strip()


@dataclass
class ResourceForm:
    """What the edit form holds: resource values, share methods, field rows, and problems."""

    values: dict[str, str] = field(default_factory=dict)
    share_methods: list[str] = field(default_factory=list)
    rows: list[FieldRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: Problems not tied to one input (shown in the summary only).
    general: list[str] = field(default_factory=list)
    #: For each field of the declaration, the form row it came from.
    row_of_field: list[int] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def blank(cls) -> ResourceForm:
        values = {
            "catalog_type": "departmental",
            "format": "table",
            "update_cycle": "irregular",
            "share_type": "conditional",
            "open_type": "none",
        }
        return cls(values=values, rows=[FieldRow() for _ in range(NEW_FORM_ROWS)])

    @classmethod
    def from_resource(cls, resource: ResourcePublic) -> ResourceForm:
        values = {
            "code": resource.code,
            "name": resource.name,
            "catalog_type": resource.catalog_type.value,
            "classification_code": resource.classification_code,
            "summary": resource.summary,
            "format": resource.format,
            "share_type": resource.share_type.value,
            "share_condition": resource.share_condition,
            "open_type": resource.open_type.value,
            "open_condition": resource.open_condition,
            "legal_basis": resource.legal_basis,
            "update_cycle": resource.update_cycle.value,
            "publish_date": resource.publish_date.isoformat() if resource.publish_date else "",
            "related": "、".join(resource.related),
            "grade": resource.grade.value if resource.grade else "",
        }
        rows = [
            FieldRow(
                name=f.name,
                english_name=f.english_name,
                data_type=f.data_type.value if f.data_type else "",
                length=str(f.length) if f.length is not None else "",
                description=f.description,
                is_key=f.is_key,
                is_personal=f.is_personal,
                grade=f.grade.value,
                rules="、".join(f.rules),
            )
            for f in resource.fields
        ]
        rows.append(FieldRow())
        return cls(
            values=values, share_methods=[m.value for m in resource.share_methods], rows=rows
        )

    @classmethod
    def from_form(cls, form: Mapping[str, Any], share_methods: Iterable[str]) -> ResourceForm:
        """Read posted values (``form`` maps names to the last value of each)."""
        values = {name: _text(form.get(name)) for name in RESOURCE_INPUTS}
        found: dict[int, dict[str, str]] = {}
        for key in form:
            match = _ROW_INPUT.match(key)
            if match and int(match.group(1)) < MAX_ROWS:
                found.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form.get(key))
        rows = []
        for index in sorted(found):  # rows are renumbered from 0 when the form shows again
            cells = found[index]
            if cells.get("delete"):
                continue
            rows.append(
                FieldRow(
                    name=cells.get("name", ""),
                    english_name=cells.get("english_name", ""),
                    data_type=cells.get("data_type", ""),
                    length=cells.get("length", ""),
                    description=cells.get("description", ""),
                    is_key=bool(cells.get("is_key")),
                    is_personal=bool(cells.get("is_personal")),
                    grade=cells.get("grade", "") or Grade.GENERAL_1.value,
                    rules=cells.get("rules", ""),
                )
            )
        return cls(values=values, share_methods=[m for m in share_methods if m], rows=rows)

    def add_rows(self, count: int = ADDED_ROWS) -> None:
        self.rows.extend(FieldRow() for _ in range(count))

    # -- problems ---------------------------------------------------------------------------

    def add_error(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, []).append(reason)

    def add_problems(self, details: Iterable[Mapping[str, Any]]) -> None:
        """Place ``{"field", "reason"}`` items from the service beside their inputs."""
        for item in details:
            self.add_error(self.input_name(str(item.get("field", ""))), str(item.get("reason", "")))

    def input_name(self, path: str) -> str:
        """The form input for a declaration path: ``fields[0].name`` → the row it came from."""
        match = _PATH_ROW.match(path)
        if match and int(match.group(1)) < len(self.row_of_field):
            return f"fields[{self.row_of_field[int(match.group(1))]}]{match.group(2)}"
        return path

    def field_errors(self, row: int, name: str) -> list[str]:
        return self.errors.get(f"fields[{row}].{name}", [])

    def row_errors(self, row: int) -> list[str]:
        """Problems about a row as a whole (``fields[3]``)."""
        return self.errors.get(f"fields[{row}]", [])

    def errors_in_row(self, row: int) -> bool:
        prefix = f"fields[{row}]"
        return any(name == prefix or name.startswith(prefix + ".") for name in self.errors)

    def anchor(self, name: str) -> str:
        """The id of the input a problem is about (what the summary links to)."""
        match = _PATH_ROW.match(name)
        if match:
            attribute = match.group(2).lstrip(".") or "name"
            return f"f{match.group(1)}-{attribute}"
        return f"in-{name}"

    def describe(self, name: str, t: Callable[..., str]) -> str:
        """The input a problem is about, as a person reads it (``第 3 行 数据类型``)."""
        match = _PATH_ROW.match(name)
        if match:
            row = t("catalog.edit.row", row=int(match.group(1)) + 1)
            attribute = match.group(2).lstrip(".")
            return f"{row} {_label(t, 'catalog.field.' + attribute)}" if attribute else row
        return _label(t, "catalog.attr." + name)

    @property
    def summary(self) -> list[tuple[str, str]]:
        """Every problem as (input name, reason), in form order, for the summary at the top."""
        ordered = sorted(self.errors.items(), key=lambda item: _form_order(item[0]))
        listed = [(name, reason) for name, reasons in ordered for reason in reasons]
        return listed + [("", reason) for reason in self.general]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    # -- to a declaration -------------------------------------------------------------------

    def to_spec(self, *, department_code: str, lang: str) -> ResourceSpec | None:
        """The declaration as far as the form can be read, or None when it cannot be built.

        Values that cannot be read (a length of "abc") are recorded as problems and left out,
        so the catalog rules can still be checked on the rest: save only without ``has_errors``.
        """
        fields: list[dict[str, Any]] = []
        self.row_of_field = []
        for index, row in enumerate(self.rows):
            if row.is_blank():
                continue
            self.row_of_field.append(index)
            fields.append(
                {
                    "name": row.name.strip(),
                    "english_name": row.english_name.strip(),
                    "data_type": row.data_type or None,
                    "length": self._length(index, row.length, lang),
                    "description": row.description.strip(),
                    "is_key": row.is_key,
                    "is_personal": row.is_personal,
                    "grade": row.grade or Grade.GENERAL_1.value,
                    "rules": split_list(row.rules),
                }
            )
        data: dict[str, Any] = {
            name: self.value(name).strip()
            for name in RESOURCE_INPUTS
            if name not in ("publish_date", "related", "grade", "reason")
        }
        data.update(
            department_code=department_code,
            fields=fields,
            share_methods=self.share_methods,
            related=split_list(self.value("related")),
            grade=self.value("grade") or None,
            publish_date=self._date(self.value("publish_date"), lang),
        )
        try:
            return ResourceSpec.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                path = _path(error["loc"])
                self.add_error(self.input_name(path), _reason(error, lang))
            return None

    def _length(self, row: int, text: str, lang: str) -> int | str | None:
        text = text.strip()
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            self.add_error(f"fields[{row}].length", translate(lang, "catalog.form.positive"))
            return None
        return int(text)

    def _date(self, text: str, lang: str) -> date | None:
        text = text.strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.add_error("publish_date", translate(lang, "catalog.form.bad_date"))
            return None


def _form_order(name: str) -> tuple[int, int, int]:
    """Where an input is in the form: resource inputs first, then field rows top to bottom."""
    match = _PATH_ROW.match(name)
    if match:
        attribute = match.group(2).lstrip(".")
        column = _ROW_COLUMNS.index(attribute) if attribute in _ROW_COLUMNS else 0
        return (1, int(match.group(1)), column)
    if name in _FORM_ORDER:
        return (0, _FORM_ORDER.index(name), 0)
    return (2, 0, 0)  # the reason for a change, and anything else, come last


def _label(t: Callable[..., str], key: str) -> str:
    text = t(key)
    return key.rsplit(".", 1)[-1] if text == key else text


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _path(loc: tuple[int | str, ...]) -> str:
    """Pydantic's location as a declaration path: ``("fields", 0, "name")`` → ``fields[0].name``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    # A bad entry of a list the form shows as one input is reported on that input.
    return re.sub(r"^(share_methods|related)\[\d+\]$", r"\1", path)


def _reason(error: Mapping[str, Any], lang: str) -> str:
    kind = str(error.get("type", ""))
    if kind in ("missing", "string_too_short"):
        return translate(lang, "catalog.form.required")
    if kind == "enum":
        return translate(lang, "catalog.form.choose")
    return str(error.get("msg", ""))
