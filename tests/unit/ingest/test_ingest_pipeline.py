"""Reading ahead in a worker thread: order kept, errors passed on, bounded, stopped cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rongshu.ingest.pipeline import read_ahead


class Source:
    """Numbered items made on demand, noting how far it got, where, and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.made = 0
        self.closed = False
        self.threads: set[str] = set()

    def items(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                self.threads.add(threading.current_thread().name)
                if number == self.fail_at:
                    raise OSError(f"the source broke at item {number}")
                self.made += 1
                yield number
        finally:
            self.closed = True


def _settle(source: Source) -> int:
    """How many items the source has made once the worker has stopped making more."""
    made = -1
    while made != source.made:
        made = source.made
        time.sleep(0.05)
    return made


def test_items_arrive_in_order_from_a_worker_thread() -> None:
    source = Source(1000)
    with read_ahead(source.items(), depth=3, name="test-reader") as items:
        assert list(items) == list(range(1000))
    assert source.threads == {"test-reader"} and source.closed


def test_the_workers_error_is_raised_where_the_items_are_used() -> None:
    source = Source(10, fail_at=6)
    seen = []
    with pytest.raises(OSError, match="broke at item 6"), read_ahead(source.items()) as items:
        seen.extend(items)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert source.closed


def test_the_worker_stays_a_bounded_number_of_items_ahead() -> None:
    source = Source(10_000)
    with read_ahead(source.items(), depth=4) as items:
        assert next(items) == 0
        # One taken, four waiting in the queue, one made and waiting for room.
        assert _settle(source) <= 1 + 4 + 1
        assert next(items) == 1
        assert _settle(source) <= 2 + 4 + 1


def test_leaving_early_stops_the_worker_and_closes_the_source() -> None:
    source = Source(10_000)
    with read_ahead(source.items(), depth=2) as items:
        assert next(items) == 0
    made = source.made
    assert source.closed and made < 10
    assert not any(t.name == "rongshu-read-ahead" for t in threading.enumerate())
    time.sleep(0.1)
    assert source.made == made  # nothing runs on after the block


def test_an_error_in_the_consumer_stops_the_worker() -> None:
    source = Source(10_000)
    with pytest.raises(RuntimeError, match="the writer failed"):
        with read_ahead(source.items(), depth=2) as items:
            next(items)
            raise RuntimeError("the writer failed")
    assert source.closed and source.made < 10
    assert not any(t.name == "rongshu-read-ahead" for t in threading.enumerate())


class Cursor:
    """A source whose close fails, as a database cursor on a dropped connection may."""

    def __init__(self) -> None:
        self.rows = iter([1, 2])

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> int:
        return next(self.rows)

    def close(self) -> None:
        raise OSError("the cursor would not close")


def test_an_error_closing_the_source_is_raised_not_lost() -> None:
    seen: list[int] = []
    with pytest.raises(OSError, match="would not close"), read_ahead(Cursor()) as items:
        seen.extend(items)
    assert seen == [1, 2]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"), read_ahead(iter([1]), depth=0):
        pass
