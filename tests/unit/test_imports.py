"""Every module imports on its own (catches circular imports early)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import rongshu

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(rongshu.__path__, "rongshu.")
    if ".migrations" not in info.name and info.name != "rongshu.__main__"
)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports(module: str) -> None:
    assert importlib.import_module(module) is not None
