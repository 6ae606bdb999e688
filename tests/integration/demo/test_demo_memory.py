"""Generation streams: peak memory does not grow with the number of residents."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from rongshu.demo.generator import generate_city


def _peak_bytes(out_dir: Path, rows: int) -> int:
    tracemalloc.start()
    try:
        generate_city(out_dir, rows=rows)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_peak_memory_is_flat_from_10k_to_40k_residents(tmp_path: Path) -> None:
    small = _peak_bytes(tmp_path / "small", 10_000)
    large = _peak_bytes(tmp_path / "large", 40_000)
    assert large / small < 1.5, (small, large)
    assert large < 100 * 2**20  # and it is modest: well under 100 MiB of Python objects
