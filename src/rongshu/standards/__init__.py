"""Chinese national standards as pure functions and as vectorised SQL with the same verdicts.

``STANDARDS`` maps each standard's name (the name a catalog field's rule uses) to it;
``get_standard`` looks one up. Every standard offers ``check(value) -> Verdict`` and
``sql(expr, dialect)``, an expression that is NULL where the value is fine and the reason code
where it is not, plus the small lookup tables the SQL needs (``lookups()``) and the joins to
them the caller adds to its query (``joins(expr, dialect)``). See
docs/standards.md for each standard and its reason codes.
"""

from __future__ import annotations

from collections.abc import Mapping

from rongshu.core.errors import NotFound
from rongshu.standards.bank_cards import BankCardStandard
from rongshu.standards.base import Join, Standard, Verdict
from rongshu.standards.contact import (
    EmailStandard,
    MobileStandard,
    PhoneStandard,
    PostcodeStandard,
)
from rongshu.standards.dates import DateStandard
from rongshu.standards.plates import PlateStandard
from rongshu.standards.regions import RegionStandard
from rongshu.standards.ric import (
    Ric15Standard,
    RicStandard,
    ric15_to_18,
    ric_birth_date,
    ric_birth_date_sql,
    ric_gender,
    ric_gender_sql,
    ric_region,
    ric_region_sql,
)
from rongshu.standards.uscc import UsccStandard

_ALL: tuple[Standard, ...] = (
    RicStandard(),
    Ric15Standard(),
    UsccStandard(),
    RegionStandard(),
    MobileStandard(),
    PhoneStandard(),
    PostcodeStandard(),
    EmailStandard(),
    PlateStandard(),
    BankCardStandard(),
    DateStandard(),
)

#: Every standard by name.
STANDARDS: Mapping[str, Standard] = {standard.name: standard for standard in _ALL}


def get_standard(name: str) -> Standard:
    """The standard called ``name``; ``NotFound`` lists the known names otherwise."""
    try:
        return STANDARDS[name]
    except KeyError:
        known = ", ".join(STANDARDS)
        raise NotFound(f"no standard is called {name!r} (known: {known})") from None


__all__ = [
    "STANDARDS",
    "Join",
    "Standard",
    "Verdict",
    "get_standard",
    "ric15_to_18",
    "ric_birth_date",
    "ric_birth_date_sql",
    "ric_gender",
    "ric_gender_sql",
    "ric_region",
    "ric_region_sql",
]
