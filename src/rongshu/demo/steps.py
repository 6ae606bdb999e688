"""Demo steps that later areas register (catalog, ingest, quality, publish ...).

``rongshu demo`` runs them in order after the city is generated, each against the open platform
and the generated source systems, and prints what each one reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rongshu.core.platform import Platform

DemoStepFunction = Callable[[Platform, Path], str]


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    run: DemoStepFunction


DEMO_STEPS: list[DemoStep] = []


def demo_step(name: str, *, order: int) -> Callable[[DemoStepFunction], DemoStepFunction]:
    """Register ``fn(platform, city_dir) -> summary`` to run during ``rongshu demo``."""

    def register(fn: DemoStepFunction) -> DemoStepFunction:
        if not any(step.name == name for step in DEMO_STEPS):
            DEMO_STEPS.append(DemoStep(name, order, fn))
            DEMO_STEPS.sort(key=lambda step: step.order)
        return fn

    return register
