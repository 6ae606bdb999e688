"""Who may see and change a department's sources, loads and lake rows.

- The department's data stewards attach its sources, map them and run them.
- Its stewards and approvers see its sources and loads and read its rows (versions, rejected
  rows, previews): the people answerable for the data.
- Whoever operates the platform (platform admins) sees every source, load, error and version
  list, to keep loads running, but reads no department's rows: operating the platform is not a
  basis for reading its data (用必有据).

Every refusal is written to the audit ledger before ``PermissionDenied`` is raised.
"""

from __future__ import annotations

from rongshu.core.audit.ledger import AuditLedger
from rongshu.core.errors import PermissionDenied
from rongshu.core.identity.roles import Permission
from rongshu.core.identity.schemas import Actor


def stewards(actor: Actor, department: str) -> bool:
    """Whether ``actor`` attaches, maps and runs ``department``'s sources."""
    return actor.kind == "system" or (
        actor.can(Permission.STEWARD_DATA) and actor.department == department
    )


def reads_rows(actor: Actor, department: str) -> bool:
    """Whether ``actor`` reads the rows ``department``'s sources bring in."""
    answerable = actor.can(Permission.STEWARD_DATA) or actor.can(Permission.APPROVE_APPLICATIONS)
    return actor.kind == "system" or (answerable and actor.department == department)


def operates(actor: Actor) -> bool:
    """Whether ``actor`` sees the loads of every department (system, platform admins)."""
    return actor.kind == "system" or actor.can(Permission.OPERATE_PLATFORM)


def sees(actor: Actor, department: str) -> bool:
    """Whether ``actor`` sees ``department``'s sources, loads and versions (not their rows)."""
    return operates(actor) or reads_rows(actor, department)


def departments_seen(actor: Actor, ledger: AuditLedger, *, action: str) -> str | None:
    """The one department whose sources and loads ``actor`` sees, or None for every one.

    Someone who sees none is refused (a denied ``action`` in the audit ledger, then 403).
    """
    if operates(actor):
        return None
    require(
        bool(actor.department) and reads_rows(actor, actor.department),
        actor,
        ledger,
        action=action,
        object_="ingest",
        message="only data stewards, approvers and platform admins see sources and loads",
    )
    return actor.department


def require(
    allowed: bool, actor: Actor, ledger: AuditLedger, *, action: str, object_: str, message: str
) -> None:
    """Refuse with ``message`` (403 and a denied audit entry of ``action``) unless ``allowed``."""
    if allowed:
        return
    ledger.append(actor.audit(action, object_, outcome="denied"))
    raise PermissionDenied(message)
