"""The console's rule form: a quality rule as a steward types it (its kind, field, each
parameter, severity, dimension, whether it runs), read into the schema the rules service takes.

The inputs a kind needs are its parameter schema's fields (``PARAMS``), so every kind the
schemas allow has a form. A form sent back keeps what was typed and every problem beside the
input it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError

from rongshu.ingest.forms import FormProblems
from rongshu.quality.schemas import PARAMS, RuleIn, RuleKind, RuleOrigin, RulePublic, Severity


@dataclass
class RuleForm(FormProblems):
    """A rule as typed into the add or change form: the kind, ``field``, each parameter as
    ``p.<name>``, ``severity``, ``dimension`` and ``enabled``, and the problems beside them."""

    kind: RuleKind | None = None
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, kind: RuleKind | None = None) -> RuleForm:
        return cls(kind=kind, values={"severity": Severity.ERROR.value, "enabled": "on"})

    @classmethod
    def of_rule(cls, rule: RulePublic) -> RuleForm:
        """The change form of a stored rule, filled in with what it has."""
        values = {
            "field": rule.field or "",
            "severity": rule.severity.value,
            "dimension": rule.dimension.value,
            "enabled": "on" if rule.enabled else "",
        }
        for name, value in rule.params.items():
            text = "\n".join(value) if isinstance(value, list) else str(value)
            values[f"p.{name}"] = text
        return cls(kind=rule.kind, values=values)

    @classmethod
    def from_form(cls, posted: Mapping[str, Any], kind: RuleKind) -> RuleForm:
        names = ["field", "severity", "dimension", "enabled"]
        names += [f"p.{name}" for name in PARAMS[kind].model_fields]
        return cls(kind=kind, values={n: text_of(posted.get(n)) for n in names})

    @classmethod
    def for_change(cls, posted: Mapping[str, Any], rule: RulePublic) -> RuleForm:
        """The change form of ``rule`` as posted: its field stays; a rule from the catalog
        keeps its parameters too (they follow the catalog's field, see ``sync_rules``)."""
        form = cls.from_form(posted, rule.kind)
        form.values["field"] = rule.field or ""
        if rule.origin is RuleOrigin.CATALOG:
            stored = cls.of_rule(rule).values
            form.values.update({k: v for k, v in stored.items() if k.startswith("p.")})
        return form

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def param_names(self) -> list[str]:
        return list(PARAMS[self.kind].model_fields) if self.kind else []

    def params(self) -> dict[str, Any]:
        """The parameters typed, as the rule's schema reads them (empty inputs left out)."""
        found: dict[str, Any] = {}
        for name in self.param_names:
            text = self.value(f"p.{name}")
            if not text:
                continue
            if name == "values":
                found[name] = [line.strip() for line in text.splitlines() if line.strip()]
            elif name == "level":
                found[name] = int(text) if text.isdigit() else text
            else:
                found[name] = text
        return found

    def checked(self) -> RuleIn | None:
        """The rule as the services take it, or None with its problems added to the form."""
        if self.kind is None:
            return None
        try:
            PARAMS[self.kind].model_validate(self.params())
        except ValidationError as exc:
            self._add_errors(exc, prefix="p.")
            return None
        try:
            return RuleIn.model_validate(
                {
                    "field": self.value("field") or None,
                    "kind": self.kind,
                    "params": self.params(),
                    "severity": self.value("severity") or Severity.ERROR.value,
                    "dimension": self.value("dimension") or None,
                    "enabled": self.value("enabled") == "on",
                }
            )
        except ValidationError as exc:
            self._add_errors(exc, prefix="")
            return None

    def add_problems(self, details: Sequence[Mapping[str, Any]], message: str) -> None:
        """Place a service's problems (``field``, ``params.<name>``) beside their inputs."""
        for item in details:
            name = str(item.get("field", "")).replace("params.", "p.", 1)
            self.add(name if name in self.values or name == "field" else "", str(item["reason"]))
        if not details:
            self.add("", message)

    def label_key(self, name: str) -> str:
        if name.startswith("p."):
            return "quality.param." + name[2:]
        return {"field": "quality.editor.field", "severity": "quality.result.severity"}.get(
            name, "quality.editor.general"
        )

    def _add_errors(self, exc: ValidationError, *, prefix: str) -> None:
        for error in exc.errors(include_url=False, include_input=False):
            name = f"{prefix}{error['loc'][0]}" if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            self.add(name if name in self.values or name.startswith("p.") else "", message)


def text_of(value: object) -> str:
    """A posted input's text, trimmed ("" for none, or for a file)."""
    return value.strip() if isinstance(value, str) else ""


E = TypeVar("E", bound=StrEnum)


def member_of(kind: type[E], text: str) -> E | None:
    """The member of ``kind`` whose value is ``text`` (a posted choice); None for none or an
    unknown one."""
    return kind(text) if text in {member.value for member in kind} else None
