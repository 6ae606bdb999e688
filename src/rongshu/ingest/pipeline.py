"""A load's stages side by side: the source is read and mapped in a worker thread, a bounded
number of batches ahead of the lake's writer.

Reading (Arrow's CSV parser, iconv, database drivers), mapping (Arrow and numpy kernels) and
writing (deltalake's Parquet encoder, in Rust) all release the GIL for most of their work, so on
two cores the three overlap instead of taking turns. The queue between them holds at most
``depth`` batches, so memory stays bounded whatever the source's size; a failure on either side
stops the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from queue import Empty, Full, Queue
from typing import Generic, TypeVar

T = TypeVar("T")

#: Batches read and mapped ahead of the writer (each at most a connector's ``batch_rows``).
DEFAULT_DEPTH = 4
_POLL = 0.05  # seconds a blocked worker waits before looking again whether to stop


class _End:
    """Marks the end of the items."""


class _Failure:
    """Carries the worker's exception to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Ahead(Generic[T]):
    def __init__(self, items: Iterable[T], depth: int, name: str) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._items = items
        self._queue: Queue[T | _End | _Failure] = Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    def _work(self) -> None:
        outcome: _End | _Failure = _End()
        try:
            iterator = iter(self._items)
            try:
                for item in iterator:
                    if not self._put(item):
                        return  # stopped: nobody takes the outcome
            finally:
                close = getattr(iterator, "close", None)
                if callable(close):
                    close()  # the items' generator ran in this thread; it is closed here too
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            outcome = _Failure(exc)
        self._put(outcome)

    def _put(self, item: T | _End | _Failure) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room, so a worker blocked on a full queue sees the stop at once
                self._queue.get(timeout=_POLL)
            except Empty:
                continue
        self._thread.join()


@contextmanager
def read_ahead(
    items: Iterable[T], *, depth: int = DEFAULT_DEPTH, name: str = "rongshu-read-ahead"
) -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a worker thread, at most ``depth`` items ahead of the consumer.

    The worker's exception is raised by the consumer's iteration (the same exception object).
    Leaving the block, early or by an error, stops the worker at its next item, closes the
    items' iterator (in the worker's thread) and waits for it, so nothing runs on afterwards.
    """
    ahead = _Ahead(items, depth, name)
    ahead.start()
    try:
        yield iter(ahead)
    finally:
        ahead.stop()
