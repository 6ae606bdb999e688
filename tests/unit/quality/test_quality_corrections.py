"""Correction ticket numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rongshu.quality.corrections import new_number


def test_a_ticket_number_carries_the_day_it_opened_in_beijing() -> None:
    # 23:30 UTC on 22 November is 07:30 on 23 November in Beijing.
    number = new_number(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    assert re.fullmatch(r"JC20261123[0-9A-F]{6}", number)
    assert new_number(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) != number  # random tail
