"""Errors of the lake, as domain errors (they are ``rongshu.core.errors`` errors by inheritance)."""

from __future__ import annotations

from rongshu.core.errors import ConfigurationError, ValidationFailed


class LakeStorageError(ConfigurationError):
    """The lake's disk refused a write or a read: full, read-only, not permitted, files missing.

    The lake is unchanged when this is raised by a commit: the previous version stays the latest.
    """

    status = 507
    code = "lake_storage_error"


class LakeQueryError(ValidationFailed):
    """A lake engine could not run a query; the message names the SQL and the tables involved."""

    code = "lake_query_failed"
