"""Fixtures for lake tests: a lake in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from rongshu.lake import Lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """An empty lake with the default settings (every version kept)."""
    return Lake(tmp_path / "lake")
