"""The console's ingest forms: attaching a source, and mapping its columns to catalog fields.

Each form keeps what was typed and every problem beside the input it concerns, so a form sent
back with problems shows them all at once and loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rongshu.core.i18n import translate
from rongshu.ingest.browse import TargetField
from rongshu.ingest.mapping import ColumnMapping, FieldMapping
from rongshu.ingest.schemas import LoadMode, SourceCreate

#: Where a source's data comes from, as the attach form offers it.
ORIGINS = ("file", "database", "http")
#: Text inputs of the attach form.
ATTACH_INPUTS = (
    "resource_code",
    "name",
    "origin",
    "encoding",
    "db_url",
    "db_table",
    "db_query",
    "http_url",
    "http_records_path",
    "mode",
    "key_fields",
    "watermark_column",
    "schedule",
)
ENCODINGS = ("auto", "utf-8", "gb18030")
#: Connector kinds that take an ``encoding`` option.
_ENCODED_KINDS = ("csv", "json")
_LIST = re.compile(r"[、,，;；\s]+")
#: Where problems the services report about options land in the form.
_OPTION_INPUTS = {
    "database": {"url": "db_url", "table": "db_table", "query": "db_query"},
    "http": {"url": "http_url", "records_path": "http_records_path"},
    "file": {"path": "file", "encoding": "encoding"},
}


_LABELS = {
    "resource_code": "ingest.source.resource",
    "name": "ingest.source.name",
    "file": "ingest.attach.file",
    "encoding": "ingest.attach.encoding",
    "db_url": "ingest.attach.db_url",
    "db_table": "ingest.attach.db_table",
    "db_query": "ingest.attach.db_query",
    "http_url": "ingest.attach.http_url",
    "http_records_path": "ingest.attach.records_path",
    "mode": "ingest.source.mode",
    "key_fields": "ingest.source.key_fields",
    "watermark_column": "ingest.source.watermark",
    "schedule": "ingest.source.schedule",
}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass
class FormProblems:
    """Problems by input name; ``""`` holds those about the form as a whole."""

    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, []).append(reason)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def for_input(self, name: str) -> list[str]:
        return self.errors.get(name, [])


@dataclass
class AttachForm(FormProblems):
    """The attach form as typed."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls) -> AttachForm:
        return cls(values={"origin": "file", "encoding": "auto", "mode": LoadMode.SNAPSHOT.value})

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> AttachForm:
        values = {name: _text(form.get(name)) for name in ATTACH_INPUTS}
        if values["origin"] not in ORIGINS:
            values["origin"] = "file"
        return cls(values=values)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def origin(self) -> str:
        return self.value("origin")

    def options(self, *, kind: str, path: str | None = None) -> dict[str, Any]:
        """Connector options from the inputs of the chosen origin (``path``: a stored upload)."""
        if self.origin == "database":
            options = {"url": self.value("db_url")}
            if self.value("db_query"):
                options["query"] = self.value("db_query")
            if self.value("db_table"):
                options["table"] = self.value("db_table")
            return options
        if self.origin == "http":
            options = {"url": self.value("http_url")}
            if self.value("http_records_path"):
                options["records_path"] = self.value("http_records_path")
            return options
        options = {"path": path or ""}
        if kind in _ENCODED_KINDS and self.value("encoding") not in ("", "auto"):
            options["encoding"] = self.value("encoding")
        return options

    def check_origin(self, *, has_file: bool, lang: str) -> None:
        """The inputs the chosen origin needs, each missing one named beside its input."""
        if not self.value("resource_code"):
            self.add("resource_code", translate(lang, "ingest.attach.resource_required"))
        if self.origin == "file" and not has_file:
            self.add("file", translate(lang, "ingest.attach.file_required"))
        if self.origin == "database":
            if not self.value("db_url"):
                self.add("db_url", translate(lang, "ingest.attach.url_required"))
            if not (self.value("db_table") or self.value("db_query")):
                self.add("db_table", translate(lang, "ingest.attach.table_or_query"))
        if self.origin == "http" and not self.value("http_url"):
            self.add("http_url", translate(lang, "ingest.attach.url_required"))

    def source_create(self, *, kind: str, options: dict[str, Any]) -> SourceCreate | None:
        """The source as the service takes it, or None with the problems added to the form."""
        try:
            return SourceCreate.model_validate(
                {
                    "resource_code": self.value("resource_code"),
                    "name": self.value("name"),
                    "kind": kind,
                    "options": options,
                    "mode": self.value("mode") or LoadMode.SNAPSHOT.value,
                    "key_fields": [k for k in _LIST.split(self.value("key_fields")) if k],
                    "watermark_column": self.value("watermark_column") or None,
                    "schedule": self.value("schedule") or None,
                }
            )
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                name = str(err["loc"][0]) if err["loc"] else ""
                self.add(name if name in ATTACH_INPUTS else "", str(err["msg"]))
            return None

    def add_problems(self, details: Iterable[Mapping[str, Any]], message: str) -> None:
        """Place a service's ``details`` beside their inputs (``message`` when there are none)."""
        inputs = _OPTION_INPUTS.get(self.origin, {})
        details = list(details)
        for item in details:
            name = str(item.get("field", ""))
            name = inputs.get(name, name if name in ATTACH_INPUTS else "")
            # One problem: the whole message says it best (it names the source, credentials
            # masked); several: each input gets its own reason.
            reason = message if len(details) == 1 else str(item.get("reason") or message)
            self.add(name, reason)
        if not details:
            self.add(self._main_input(), message)

    def forget_password(self) -> None:
        """Show the database address again without its password (``***``): a form sent back is
        a page like any other, and a password never appears on a page."""
        try:
            url = make_url(self.value("db_url"))
        except ArgumentError:
            return
        if url.password:
            self.values["db_url"] = url.render_as_string(hide_password=True)

    def label_key(self, name: str) -> str:
        """The message key of an input's label (for the problem summary)."""
        return _LABELS.get(name, "ingest.attach.general")

    def _main_input(self) -> str:
        return {"database": "db_url", "http": "http_url"}.get(self.origin, "file")


@dataclass
class MappingRow:
    """One catalog field and the source column chosen for it."""

    field: TargetField
    source: str


@dataclass
class MappingForm(FormProblems):
    """For each catalog field, the source column that feeds it (or none)."""

    rows: list[MappingRow] = field(default_factory=list)
    #: Options of each column mapping kept as saved (normalisation steps, date formats, ...).
    kept: dict[str, ColumnMapping] = field(default_factory=dict)
    base: FieldMapping = field(default_factory=FieldMapping)

    @classmethod
    def from_mapping(cls, mapping: FieldMapping, fields: Sequence[TargetField]) -> MappingForm:
        chosen = {c.target: c for c in mapping.columns}
        rows = [
            MappingRow(f, chosen[f.english_name].source or "" if f.english_name in chosen else "")
            for f in fields
        ]
        return cls(rows=rows, kept=chosen, base=mapping)

    @classmethod
    def from_form(
        cls, form: Mapping[str, Any], fields: Sequence[TargetField], saved: FieldMapping
    ) -> MappingForm:
        """Read ``map.<field>`` selects; other settings of the saved mapping are kept."""
        chosen = {c.target: c for c in saved.columns}
        rows = [MappingRow(f, _text(form.get(f"map.{f.english_name}"))) for f in fields]
        return cls(rows=rows, kept=chosen, base=saved)

    def mapping(self, columns: Sequence[str]) -> FieldMapping:
        """The mapping the form describes; source columns no field uses are listed as ignored."""
        mapped = []
        for row in self.rows:
            kept = self.kept.get(row.field.english_name)
            column = kept or ColumnMapping(target=row.field.english_name)
            mapped.append(column.model_copy(update={"source": row.source or None}))
        used = {row.source for row in self.rows if row.source}
        return self.base.model_copy(
            update={"columns": mapped, "ignored": [c for c in columns if c not in used]}
        )

    def add_problems(self, details: Iterable[Mapping[str, Any]], message: str) -> None:
        """Place the mapper's problems (by field or column name) beside the field's select."""
        targets = {row.field.english_name for row in self.rows}
        sources = {row.source: row.field.english_name for row in self.rows if row.source}
        placed = False
        for item in details:
            name = str(item.get("field", ""))
            reason = str(item.get("message") or item.get("reason") or message)
            self.add(name if name in targets else sources.get(name, ""), reason)
            placed = True
        if not placed:
            self.add("", message)
