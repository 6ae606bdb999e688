"""Text messages to people's phones. The platform ships a simulated sender; an installation
with an SMS gateway implements ``SmsSender`` for it.

``OutboxSmsSender`` appends each message to ``<data_dir>/outbox/sms.log`` (one line: time,
phone, text) and logs that it did, with the phone masked: the demo and the tests read the codes
from the outbox.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from rongshu.core.outbox import Outbox
from rongshu.core.settings import Settings

log = logging.getLogger("rongshu.quality.sms")


class SmsSender(Protocol):
    """Sends one text message to one mobile phone number."""

    def send(self, phone: str, text: str) -> None: ...


def masked(phone: str) -> str:
    """A phone number with all but its first three and last four digits hidden."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "***"


class OutboxSmsSender(Outbox):
    """The simulated sender: messages go to a file in the data directory, not to phones."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, "sms", what="SMS", mask=masked, log=log)


def default_sender(settings: Settings) -> SmsSender:
    """The sender an installation uses: the outbox in its data directory."""
    return OutboxSmsSender(settings.data_dir)
