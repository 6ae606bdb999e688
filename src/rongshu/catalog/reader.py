"""Reading a catalog file in either of the shapes bureaus use (no database).

Shape A: one sheet (or several), one row per field (信息项), the resource columns repeated on
each row of the resource (or merged down over them, or left blank after the first row).
Shape B: a resources sheet (资源 / 资源目录 / resources) and a fields sheet (信息项 / fields)
joined by 资源代码. CSV files are shape A. See ``columns.py`` for the header names.

The result is every declaration that could be built, and every problem found without a
database, each with the sheet, row and column where the user will fix it. ``importer.py``
adds what needs the database and registers the declarations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from rongshu.catalog.columns import (
    COLUMNS,
    DEPARTMENT_KEYS,
    FIELD_ATTRIBUTE_COLUMN,
    FIELD_COLUMNS,
    FIELD_SHEET_NAMES,
    REQUIRED_FIELD,
    REQUIRED_RESOURCE,
    RESOURCE_COLUMNS,
    RESOURCE_SHEET_NAMES,
    header_aliases,
)
from rongshu.catalog.rules import check_resource
from rongshu.catalog.schemas import (
    CatalogType,
    FieldType,
    Grade,
    LabelledEnum,
    OpenType,
    ResourceSpec,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.catalog.sheets import (
    CellValue,
    Row,
    Sheet,
    SheetError,
    Table,
    cell_bool,
    cell_date,
    cell_int,
    cell_list,
    cell_text,
    find_table,
    normalise_header,
    read_sheets,
)


class ImportProblem(BaseModel):
    """One thing to fix, where it is: ``row`` as Excel shows it (0: the whole file or sheet),
    ``column`` the header as written in the file (or the standard header when it is missing)."""

    sheet: str
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class Origin:
    """Where a resource was written: its sheet and rows, and the headers as written."""

    sheet: str
    row: int
    headers: dict[str, str]
    value_rows: dict[str, int]
    field_sheet: str
    field_headers: dict[str, str]
    field_rows: list[int]

    def problem(self, path: str, reason: str) -> ImportProblem:
        """A problem about ``path`` (``share_type``, ``fields[2].data_type`` ...) of this entry."""
        found = re.fullmatch(r"fields\[(\d+)\]\.(\w+)", path)
        if found and int(found.group(1)) < len(self.field_rows):
            key = FIELD_ATTRIBUTE_COLUMN.get(found.group(2), found.group(2))
            return ImportProblem(
                sheet=self.field_sheet,
                row=self.field_rows[int(found.group(1))],
                column=self.field_headers.get(key) or _standard_header(key),
                reason=reason,
            )
        key = path.split(".")[0].split("[")[0]
        if key == "fields":
            key = "field_name" if self.field_sheet == self.sheet else "code"
        if key in DEPARTMENT_KEYS and key not in self.value_rows:
            # Point at the department column the row actually fills.
            other = next(k for k in DEPARTMENT_KEYS if k != key)
            if other in self.value_rows or key not in self.headers:
                key = other
        if key not in COLUMNS:
            key = "code"
        return ImportProblem(
            sheet=self.sheet,
            row=self.value_rows.get(key, self.row),
            column=self.headers.get(key) or _standard_header(key),
            reason=reason,
        )


@dataclass
class CatalogEntry:
    """One resource as read from the file, and where it was written.

    ``spec.department_code`` holds the 部门编码 cell ("" when the file names the department
    only by 提供部门, which ``department_name`` keeps); ``import_catalog`` resolves it.
    """

    spec: ResourceSpec
    department_name: str
    origin: Origin

    def problem(self, path: str, reason: str) -> ImportProblem:
        return self.origin.problem(path, reason)


@dataclass(frozen=True)
class DepartmentClaim:
    """The department a resource names (by 提供部门, 部门编码 or both), resolved on import."""

    name: str
    code: str
    origin: Origin


@dataclass
class CatalogFile:
    """Everything read from one file: the entries that could be built, and the problems."""

    entries: list[CatalogEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    # Every resource code in the file, with where it is written (entries or not).
    codes: dict[str, ImportProblem] = field(default_factory=dict)
    # The department each resource names, also for resources that could not be built, so that
    # an unknown department is reported together with the file's other problems.
    departments: dict[str, DepartmentClaim] = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)

    def sort(self, problems: list[ImportProblem]) -> list[ImportProblem]:
        """Problems in the order a person reads the file: sheet by sheet, row by row."""
        order = {name: i for i, name in enumerate(self.sheets)}
        return sorted(problems, key=lambda p: (order.get(p.sheet, -1), p.row))


def read_catalog(data: bytes, filename: str) -> tuple[list[ResourceSpec], list[ImportProblem]]:
    """The declarations in a catalog file and every problem found without a database."""
    parsed = parse_catalog(data, filename)
    return [entry.spec for entry in parsed.entries], parsed.problems


# -- reading ---------------------------------------------------------------------------------


@dataclass
class _Block:
    """The rows of one resource while the file is read."""

    code: str
    sheet: str
    row: int
    headers: dict[str, str]
    values: dict[str, CellValue] = field(default_factory=dict)
    value_rows: dict[str, int] = field(default_factory=dict)
    field_sheet: str = ""
    field_headers: dict[str, str] = field(default_factory=dict)
    fields: list[Row] = field(default_factory=list)
    discarded: bool = False


_RESOURCE_KEYS = tuple(c.key for c in RESOURCE_COLUMNS)
_FIELD_KEYS = tuple(c.key for c in FIELD_COLUMNS)


class _Reader:
    """Reads one file into blocks, then builds and checks the declarations."""

    def __init__(self) -> None:
        self.problems: list[ImportProblem] = []
        self.blocks: dict[str, _Block] = {}
        self.departments: dict[str, DepartmentClaim] = {}

    def add(self, sheet: str, row: int, column: str, reason: str) -> None:
        self.problems.append(ImportProblem(sheet=sheet, row=row, column=column, reason=reason))

    def missing_columns(self, table: Table, required: tuple[str, ...]) -> bool:
        missing = [key for key in required if key not in table.headers]
        if not any(key in table.headers for key in DEPARTMENT_KEYS) and "name" in required:
            missing.append("department")
        for key in missing:
            header = _standard_header(key)
            hint = "（或 部门编码）" if key == "department" else ""
            self.add(
                table.sheet,
                table.header_row,
                header,
                f"缺少必填列「{header}」{hint} (missing required column {header})",
            )
        for written, column in table.duplicates:
            self.add(
                table.sheet,
                table.header_row,
                written,
                f"列「{written}」出现了两次（第 {column} 列）(the column appears twice)",
            )
        return bool(missing or table.duplicates)

    def read_combined(self, table: Table) -> None:
        """Shape A: one row per field, resource columns repeated (or blank after the first)."""
        if self.missing_columns(table, REQUIRED_RESOURCE + REQUIRED_FIELD):
            return
        current: _Block | None = None
        code_header = table.header("code", "资源代码")
        for row in table.rows:
            code = cell_text(row.get("code"))
            if not code:
                has_resource = any(row.get(k) is not None for k in _RESOURCE_KEYS)
                if current is not None and not has_resource:
                    current.fields.append(row)  # a field row under the previous resource
                else:
                    self.add(
                        table.sheet, row.number, code_header, "资源代码为空 (no resource code)"
                    )
                continue
            if current is None or current.code != code:
                current = self.blocks.get(code)
                if current is None:
                    current = _Block(code, table.sheet, row.number, table.headers)
                    current.field_sheet, current.field_headers = table.sheet, table.headers
                    self.blocks[code] = current
                else:
                    self.add(
                        table.sheet,
                        row.number,
                        code_header,
                        f"资源代码 {code} 重复：{_where(current)}已有此资源，同一资源的行须相邻 "
                        "(duplicate code; the rows of one resource must be together)",
                    )
                    # Its rows are set aside: one problem for the whole repeated block.
                    current = _Block(code, table.sheet, row.number, table.headers, discarded=True)
            block = current
            if block.discarded:
                continue
            self.take_resource_values(block, table, row)
            if any(row.get(k) is not None for k in _FIELD_KEYS):
                block.fields.append(row)

    def take_resource_values(self, block: _Block, table: Table, row: Row) -> None:
        for key in _RESOURCE_KEYS:
            value = row.get(key)
            if value is None:
                continue
            if key not in block.values:
                block.values[key] = value
                block.value_rows[key] = row.number
            elif cell_text(value) != cell_text(block.values[key]):
                self.add(
                    table.sheet,
                    row.number,
                    table.header(key, _standard_header(key)),
                    f"与第 {block.value_rows[key]} 行的「{cell_text(block.values[key])}」不一致 "
                    "(the resource columns must agree on every row of a resource)",
                )

    def read_resources(self, table: Table) -> bool:
        """Shape B, the resources sheet: one row per resource. False if it cannot be read."""
        if self.missing_columns(table, REQUIRED_RESOURCE):
            return False
        code_header = table.header("code", "资源代码")
        for row in table.rows:
            code = cell_text(row.get("code"))
            if not code:
                self.add(table.sheet, row.number, code_header, "资源代码为空 (no resource code)")
                continue
            if code in self.blocks:
                self.add(
                    table.sheet,
                    row.number,
                    code_header,
                    f"资源代码 {code} 重复：{_where(self.blocks[code])}已有此资源 (duplicate code)",
                )
                continue
            block = _Block(code, table.sheet, row.number, table.headers)
            self.blocks[code] = block
            self.take_resource_values(block, table, row)
        return True

    def read_fields(self, table: Table, resources_sheet: str | None) -> None:
        """Shape B, the fields sheet: 资源代码 plus the field columns. Without a readable
        resources sheet, only its columns are checked."""
        if self.missing_columns(table, ("code",) + REQUIRED_FIELD) or resources_sheet is None:
            return
        code_header = table.header("code", "资源代码")
        for row in table.rows:
            code = cell_text(row.get("code"))
            block = self.blocks.get(code)
            if not code:
                self.add(table.sheet, row.number, code_header, "资源代码为空 (no resource code)")
            elif block is None:
                self.add(
                    table.sheet,
                    row.number,
                    code_header,
                    f"资源代码 {code} 不在「{resources_sheet}」表中 "
                    f"(no such resource in sheet {resources_sheet})",
                )
            else:
                block.field_sheet, block.field_headers = table.sheet, table.headers
                block.fields.append(row)

    # -- building declarations ---------------------------------------------------------------

    def build(self, block: _Block) -> CatalogEntry | None:
        """The declaration of a block, or None (with problems added) if a cell is unreadable."""
        before = len(self.problems)
        origin = Origin(
            sheet=block.sheet,
            row=block.row,
            headers=block.headers,
            value_rows=block.value_rows,
            field_sheet=block.field_sheet or block.sheet,
            field_headers=block.field_headers or block.headers,
            field_rows=[row.number for row in block.fields],
        )
        department_name = cell_text(block.values.get("department"))
        department_code = cell_text(block.values.get("department_code")).upper()
        if department_name or department_code:
            self.departments[block.code] = DepartmentClaim(department_name, department_code, origin)
        data: dict[str, Any] = {"code": block.code}
        for key in _RESOURCE_KEYS[1:]:
            value = block.values.get(key)
            where = (
                block.sheet,
                block.value_rows.get(key, block.row),
                block.headers.get(key) or _standard_header(key),
            )
            if value is None:
                if key in REQUIRED_RESOURCE:
                    self.add(*where, f"「{where[2]}」不能为空 (required)")
                continue
            try:
                data[key] = _resource_value(key, value)
            except ValueError as exc:
                self.add(*where, str(exc))
        data.pop("department", None)
        data.setdefault("department_code", "")
        if not department_name and not department_code:
            column = block.headers.get("department") or block.headers.get("department_code", "")
            self.add(
                block.sheet,
                block.row,
                column,
                "提供部门和部门编码都为空 (give the department's name or code)",
            )
        data["fields"] = [self.build_field(block, row) for row in block.fields]
        if len(self.problems) > before:
            return None
        try:
            spec = ResourceSpec.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                path = ".".join(str(part) for part in error["loc"])
                path = re.sub(r"^fields\.(\d+)", r"fields[\1]", path)
                self.problems.append(origin.problem(path, f"资源 {block.code}：{error['msg']}"))
            return None
        for found in check_resource(spec):
            self.problems.append(
                origin.problem(found["field"], f"资源 {block.code}：{found['reason']}")
            )
        return CatalogEntry(spec=spec, department_name=department_name, origin=origin)

    def build_field(self, block: _Block, row: Row) -> dict[str, Any]:
        item: dict[str, Any] = {}
        sheet = block.field_sheet or block.sheet
        headers = block.field_headers or block.headers
        for key in _FIELD_KEYS:
            value = row.get(key)
            column = headers.get(key) or _standard_header(key)
            if value is None:
                if key == "field_name":
                    self.add(sheet, row.number, column, f"「{column}」不能为空 (required)")
                continue
            try:
                attribute, parsed = _field_value(key, value)
            except ValueError as exc:
                self.add(sheet, row.number, column, str(exc))
                continue
            item[attribute] = parsed
        item.setdefault("data_type", None)
        return item


def _where(block: _Block) -> str:
    return f"「{block.sheet}」第 {block.row} 行"


def _standard_header(key: str) -> str:
    return COLUMNS[key].header if key in COLUMNS else key


_ENUMS: dict[str, type[LabelledEnum]] = {
    "catalog_type": CatalogType,
    "share_type": ShareType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "grade": Grade,
    "share_methods": ShareMethod,
    "data_type": FieldType,
    "field_grade": Grade,
}


def parse_enum(key: str, text: str) -> LabelledEnum:
    """An enumeration cell: the Chinese label or the code (any case); the error names both."""
    kind = _ENUMS[key]
    cleaned = re.sub(r"\s+", "", text)
    for member in kind:
        if cleaned == member.label or cleaned.lower() == member.value:
            return member
    labels = "、".join(m.label for m in kind)
    codes = ", ".join(m.value for m in kind)
    header = _standard_header(key)
    raise ValueError(
        f"「{text}」不是有效的{header}，可选：{labels} (allowed values: {labels}, or {codes})"
    )


def _resource_value(key: str, value: CellValue) -> Any:
    if key == "share_methods":
        return [parse_enum(key, part) for part in cell_list(value)]
    if key in _ENUMS:
        return parse_enum(key, cell_text(value))
    if key == "related":
        return cell_list(value)
    if key == "publish_date":
        return cell_date(value)
    if key == "department_code":
        return cell_text(value).upper()
    return cell_text(value)


def _field_value(key: str, value: CellValue) -> tuple[str, Any]:
    attribute = next((a for a, k in FIELD_ATTRIBUTE_COLUMN.items() if k == key), key)
    if key in _ENUMS:
        return attribute, parse_enum(key, cell_text(value))
    if key == "length":
        return attribute, cell_int(value)
    if key in ("is_key", "is_personal"):
        return attribute, cell_bool(value)
    if key == "rules":
        return attribute, cell_list(value)
    return attribute, cell_text(value)


# -- shapes ----------------------------------------------------------------------------------


def parse_catalog(data: bytes, filename: str) -> CatalogFile:
    """Read a catalog file of either shape into entries and problems (no database)."""
    reader = _Reader()
    try:
        sheets = read_sheets(data, filename)
    except SheetError as exc:
        reader.add(exc.sheet, exc.row, "", exc.reason)
        return CatalogFile(problems=reader.problems)

    aliases = header_aliases()
    tables = [(sheet, table) for sheet in sheets if (table := find_table(sheet, aliases))]
    with_code = [t for _, t in tables if "code" in t.headers]
    shape_b = _shape_b(tables)
    if shape_b is not None:
        resources, fields = shape_b
        readable = reader.read_resources(resources)
        reader.read_fields(fields, resources.sheet if readable else None)
    elif with_code or tables:
        for table in with_code or [tables[0][1]]:
            reader.read_combined(table)
    else:
        encoding = sheets[0].encoding if len(sheets) == 1 else ""
        read_as = f"（按 {encoding} 读取）" if encoding else ""
        reader.add(
            sheets[0].name if len(sheets) == 1 else "",
            0,
            "",
            f"找不到表头行{read_as}：需要「资源代码」「资源名称」「信息项名称」等列，或「资源」"
            "和「信息项」两张表 (no header row found: need columns 资源代码, 资源名称, 信息项名称 "
            "..., or sheets 资源 and 信息项)",
        )
    if not reader.blocks and not reader.problems:
        first = (shape_b or (with_code or [tables[0][1]]))[0]
        reader.add(
            first.sheet,
            first.header_row,
            "",
            "表头下没有任何资源 (there are no resources below the header row)",
        )

    result = CatalogFile(sheets=[sheet.name for sheet in sheets])
    for code, block in reader.blocks.items():
        result.codes[code] = ImportProblem(
            sheet=block.sheet,
            row=block.row,
            column=block.headers.get("code", "资源代码"),
            reason="",
        )
        entry = reader.build(block)
        if entry is not None:
            result.entries.append(entry)
    result.departments = reader.departments
    result.problems = result.sort(reader.problems)
    return result


def _sheet_kind(sheet: Sheet) -> str:
    name = normalise_header(sheet.name)
    if name in RESOURCE_SHEET_NAMES:
        return "resources"
    if name in FIELD_SHEET_NAMES:
        return "fields"
    return ""


def _shape_b(tables: list[tuple[Sheet, Table]]) -> tuple[Table, Table] | None:
    """The resources and fields sheets of shape B, found by name, or else by their columns:
    two sheets with 资源代码, one with resource columns only, one with field columns only."""
    named_resources = [t for s, t in tables if _sheet_kind(s) == "resources"]
    named_fields = [t for s, t in tables if _sheet_kind(s) == "fields"]
    if named_resources and named_fields:
        return named_resources[0], named_fields[0]
    with_code = [t for _, t in tables if "code" in t.headers]
    if len(with_code) != 2:
        return None
    by_kind = {("field_name" in t.headers, "name" in t.headers): t for t in with_code}
    resources, fields = by_kind.get((False, True)), by_kind.get((True, False))
    return (resources, fields) if resources and fields else None
