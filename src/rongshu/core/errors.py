"""Domain errors raised by services.

They are mapped once: to the JSON error shape in ``rongshu.web.errors`` and to CLI exit codes in
``rongshu.cli``. Services never raise HTTP errors.
"""

from __future__ import annotations

from typing import Any


class RongshuError(Exception):
    """Base of every error a user may see; ``code`` is stable, ``message`` is for people."""

    status = 500
    code = "internal_error"
    exit_code = 1

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(RongshuError):
    """Input that breaks a rule; ``details`` says which field and why."""

    status = 422
    code = "validation_failed"
    exit_code = 2


class NotAuthenticated(RongshuError):
    """No credentials, or credentials that are malformed, unknown, expired or revoked."""

    status = 401
    code = "not_authenticated"
    exit_code = 3


class PermissionDenied(RongshuError):
    """Known caller, but the role does not allow this action."""

    status = 403
    code = "permission_denied"
    exit_code = 3


class AccountLocked(RongshuError):
    """Too many wrong passwords in a row; the account is locked for a while."""

    status = 423
    code = "account_locked"
    exit_code = 3


class NotFound(RongshuError):
    """The object does not exist (or the caller may not know it exists)."""

    status = 404
    code = "not_found"
    exit_code = 4


class Conflict(RongshuError):
    """The action clashes with what exists: a duplicate code, a forbidden role combination."""

    status = 409
    code = "conflict"
    exit_code = 5


class TooManyRequests(RongshuError):
    """Asked too often (a rate limit); try again later."""

    status = 429
    code = "too_many_requests"
    exit_code = 5


class ConfigurationError(RongshuError):
    """The installation is not set up the way this action needs."""

    status = 500
    code = "configuration_error"
    exit_code = 6
