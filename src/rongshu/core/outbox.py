"""The simulated senders' outbox: messages to people (texts, e-mail) that an installation
without a gateway writes to ``<data_dir>/outbox/<channel>.log`` instead of sending.

One line a message: time, recipient, text, tab-separated. The demo and the tests read one-time
codes from there; the log says a message was written, with the recipient masked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from rongshu.core.db import utcnow


class Outbox:
    """A simulated sender of one channel: ``send`` appends the message to the channel's file."""

    _lock = threading.Lock()

    def __init__(
        self,
        data_dir: Path,
        channel: str,
        *,
        what: str,
        mask: Callable[[str], str],
        log: logging.Logger,
    ) -> None:
        self.path = data_dir / "outbox" / f"{channel}.log"
        self._what = what
        self._mask = mask
        self._log = log

    def send(self, recipient: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = f"{utcnow().isoformat()}\t{recipient}\t{text}\n"
        with self._lock, self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line)
        self._log.info(
            "simulated %s to %s written to %s", self._what, self._mask(recipient), self.path
        )
