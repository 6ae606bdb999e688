"""The lake: versioned, immutable tables (Delta Lake) and the engines that read them.

``Lake`` and ``LakeTable`` store and version the data; ``LakeEngine`` is how the rest of the
platform queries it (``DuckDBEngine`` embedded; a Spark engine can implement the same protocol).
"""

from __future__ import annotations

from rongshu.lake.dialect import SqlDialect
from rongshu.lake.engine import LakeEngine, Params
from rongshu.lake.errors import LakeQueryError, LakeStorageError
from rongshu.lake.schema import FIELD_ARROW_TYPES, arrow_schema, key_columns
from rongshu.lake.tables import (
    CommitResult,
    Lake,
    LakeTable,
    TableScan,
    VersionInfo,
    WriteMode,
)

__all__ = [
    "FIELD_ARROW_TYPES",
    "CommitResult",
    "Lake",
    "LakeEngine",
    "LakeQueryError",
    "LakeStorageError",
    "LakeTable",
    "Params",
    "SqlDialect",
    "TableScan",
    "VersionInfo",
    "WriteMode",
    "arrow_schema",
    "key_columns",
]
