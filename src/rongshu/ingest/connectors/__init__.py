"""Connectors: one small class per kind of source behind one interface, registered by kind.

``open_connector(SourceSpec(kind="csv", options={"path": ...}))`` gives the connector for a saved
source; ``register_connector`` adds a kind. Importing this package registers the built-in kinds.
"""

from rongshu.ingest.connectors import delimited, excel, http, jsonfile, parquet, sql
from rongshu.ingest.connectors.base import (
    CONNECTORS,
    DEFAULT_BATCH_ROWS,
    Connector,
    SourceCredentialsRefused,
    SourceNotFound,
    SourceSpec,
    SourceUnavailable,
    SourceUnreadable,
    WatermarkFilter,
    open_connector,
    register_connector,
)

__all__ = [
    "CONNECTORS",
    "DEFAULT_BATCH_ROWS",
    "Connector",
    "SourceCredentialsRefused",
    "SourceNotFound",
    "SourceSpec",
    "SourceUnavailable",
    "SourceUnreadable",
    "WatermarkFilter",
    "delimited",
    "excel",
    "http",
    "jsonfile",
    "parquet",
    "sql",
    "open_connector",
    "register_connector",
]
