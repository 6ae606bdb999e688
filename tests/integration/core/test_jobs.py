"""The job queue on real backends: SQLite in tmp_path, and Redis (marked) with one name per test."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rongshu.core.errors import Conflict, NotFound, ValidationFailed
from rongshu.core.jobs import JobContext, JobFailed, JobQueue, JobRegistry, JobTimeout, create_queue
from rongshu.core.settings import Settings, load_settings

WAIT = 20.0  # seconds any single wait may take before the test fails

jobs = JobRegistry()
_record_lock = threading.Lock()


def record(ctx: JobContext, line: str) -> None:
    """Append ``line`` to the run log in the test's work directory."""
    with _record_lock, (Path(ctx.resource("workdir")) / "runs.log").open("a") as log:
        log.write(line + "\n")


@jobs.job("test.add")
def add(ctx: JobContext, *, a: int, b: int) -> int:
    return a + b


@jobs.job("test.follow_up")
def follow_up(ctx: JobContext, *, a: int) -> int:
    assert ctx.queue is not None
    result: int = ctx.queue.enqueue("test.add", a=a, b=a).result(timeout=WAIT)
    return result


@jobs.job("test.count")
def count(ctx: JobContext, *, label: str) -> str:
    record(ctx, label)
    return label


@jobs.job("test.flaky", retries=2)
def flaky(ctx: JobContext) -> None:
    record(ctx, f"flaky attempt {ctx.attempt}")
    raise ValueError("the source database is unreachable")


@jobs.job("test.missing")
def missing(ctx: JobContext, *, code: str) -> None:
    raise NotFound(f"resource {code} does not exist")


@jobs.job("test.unserialisable")
def unserialisable(ctx: JobContext) -> Any:
    return {1, 2, 3}


@jobs.job("test.slow")
def slow(ctx: JobContext, *, seconds: float) -> str:
    workdir = Path(ctx.resource("workdir"))
    (workdir / "started").write_text(ctx.job_id)
    time.sleep(seconds)
    (workdir / "finished").write_text(ctx.job_id)
    return "done"


@jobs.periodic("test.every_minute", cron="* * * * *")
def every_minute(ctx: JobContext) -> str:
    record(ctx, "tick")
    return "tick"


@jobs.periodic("test.never", cron="0 0 30 2 *")  # 30 February: must never fire
def never(ctx: JobContext) -> None:
    record(ctx, "never")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT:g} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Harness:
    settings: Settings
    workdir: Path
    name: str
    factory_calls: list[Settings] = field(default_factory=list)
    opened: list[JobQueue] = field(default_factory=list)

    def open(self, **options: Any) -> JobQueue:
        def factory(settings: Settings) -> dict[str, Any]:
            self.factory_calls.append(settings)
            return {"workdir": str(self.workdir)}

        queue = create_queue(
            self.settings, context_factory=factory, registry=jobs, name=self.name, **options
        )
        self.opened.append(queue)
        return queue

    def runs(self) -> list[str]:
        log = self.workdir / "runs.log"
        return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    workdir = tmp_path / "work"
    workdir.mkdir()
    settings = load_settings(data_dir=tmp_path / "data", redis_url=redis_url)
    harness = Harness(settings, workdir, name=f"rongshu_test_{uuid.uuid4().hex[:12]}")
    yield harness
    for queue in harness.opened:
        queue.stop(timeout=WAIT)
    leaked = [t.name for t in threading.enumerate() if t.name.startswith(("Worker-", "Scheduler"))]
    assert not leaked, f"consumer threads still running: {leaked}"
    if harness.opened:
        harness.opened[0].flush()
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        assert not list(client.scan_iter(match=f"*{harness.name}*")), "Redis keys left behind"
        client.close()
    for queue in harness.opened:
        queue.close()


@pytest.fixture
def queue(harness: Harness) -> JobQueue:
    return harness.open()


def test_in_process_consumer_runs_a_job_and_returns_its_result(queue: JobQueue) -> None:
    handle = queue.enqueue("test.add", a=2, b=3)
    queue.start_in_process(workers=2)
    assert handle.result(timeout=WAIT) == 5
    assert handle.name == "test.add" and not handle.deduplicated


def test_resources_are_built_once_per_process(harness: Harness, queue: JobQueue) -> None:
    queue.start_in_process(workers=2)
    handles = [queue.enqueue("test.count", label=f"job {i}") for i in range(4)]
    assert [h.result(timeout=WAIT) for h in handles] == [f"job {i}" for i in range(4)]
    assert len(harness.factory_calls) == 1
    assert harness.factory_calls[0] is harness.settings


def test_failing_job_is_retried_then_result_raises(
    harness: Harness, queue: JobQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rongshu.jobs")
    handle = queue.enqueue("test.flaky")
    queue.start_in_process(workers=1)

    with pytest.raises(JobFailed, match="test.flaky failed: the source database is unreachable"):
        handle.result(timeout=WAIT)

    attempts = [line for line in harness.runs() if line.startswith("flaky")]
    assert attempts == ["flaky attempt 1", "flaky attempt 2", "flaky attempt 3"]
    logged = [r for r in caplog.records if r.name == "rongshu.jobs"]
    assert [(r.job_name, r.job_id, r.attempt) for r in logged] == [  # type: ignore[attr-defined]
        ("test.flaky", handle.id, n) for n in (1, 2, 3)
    ]
    assert [r.levelno for r in logged] == [logging.WARNING, logging.WARNING, logging.ERROR]
    assert "attempt 3 of 3: the source database is unreachable" in logged[-1].getMessage()


def test_domain_error_in_a_job_is_re_raised_as_itself(queue: JobQueue) -> None:
    handle = queue.enqueue("test.missing", code="R-42")
    queue.start_in_process(workers=1)
    with pytest.raises(NotFound, match="resource R-42 does not exist"):
        handle.result(timeout=WAIT)


def test_result_that_is_not_json_fails_the_job(queue: JobQueue) -> None:
    handle = queue.enqueue("test.unserialisable")
    queue.start_in_process(workers=1)
    with pytest.raises(JobFailed, match="not JSON serializable"):
        handle.result(timeout=WAIT)


def test_idempotency_key_runs_the_job_once(harness: Harness, queue: JobQueue) -> None:
    first = queue.enqueue("test.count", idempotency_key="load-2024-05-01", label="load")
    second = queue.enqueue("test.count", idempotency_key="load-2024-05-01", label="load")
    assert second.id == first.id and second.deduplicated
    assert queue.pending_count() == 1

    queue.start_in_process(workers=2)
    assert first.result(timeout=WAIT) == "load"
    again = queue.enqueue("test.count", idempotency_key="load-2024-05-01", label="load")
    assert again.id == first.id

    other = queue.enqueue("test.count", idempotency_key="load-2024-05-02", label="load")
    assert other.id != first.id
    assert other.result(timeout=WAIT) == "load"
    assert harness.runs().count("load") == 2


def test_idempotency_key_holds_under_concurrent_enqueues(harness: Harness) -> None:
    queues = [harness.open(), harness.open()]  # separate connections, as in two web workers
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def enqueue(i: int) -> None:
        barrier.wait(timeout=WAIT)
        handle = queues[i % 2].enqueue("test.count", idempotency_key="same", label="once")
        ids.append(handle.id)

    threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert len(ids) == 8 and len(set(ids)) == 1
    assert queues[0].pending_count() == 1


def test_idempotency_key_expires_after_its_lifetime(harness: Harness) -> None:
    queue = harness.open(idempotency_ttl=timedelta(seconds=0.3))
    first = queue.enqueue("test.count", idempotency_key="k", label="x")
    time.sleep(0.5)
    later = queue.enqueue("test.count", idempotency_key="k", label="x")
    assert later.id != first.id and not later.deduplicated
    assert queue.pending_count() == 2


def test_periodic_jobs_are_listed_and_run_on_schedule(harness: Harness, queue: JobQueue) -> None:
    assert queue.scheduled_names() == ["test.every_minute", "test.never"]
    queue.start_in_process(workers=1)
    wait_until(lambda: "tick" in harness.runs(), "the every-minute job to run")
    assert "never" not in harness.runs()


def test_periodic_job_runs_once_a_minute_however_many_consumers(harness: Harness) -> None:
    if time.gmtime().tm_sec >= 50:  # both schedulers must ask within the same minute
        time.sleep(61 - time.gmtime().tm_sec)
    web, worker = harness.open(), harness.open()
    web.start_in_process(workers=1)
    worker.start_in_process(workers=1)
    wait_until(lambda: "tick" in harness.runs(), "the every-minute job to run")
    # Each scheduler asks at its start; give the slower one time to (wrongly) enqueue a second.
    time.sleep(2.5)
    assert harness.runs().count("tick") == 1


def test_periodic_job_can_also_be_started_on_demand(queue: JobQueue) -> None:
    handle = queue.enqueue("test.every_minute")
    queue.start_in_process(workers=1)
    assert handle.result(timeout=WAIT) == "tick"


def test_delayed_job_waits_then_runs(queue: JobQueue) -> None:
    handle = queue.enqueue("test.add", delay=0.5, a=1, b=1)
    assert queue.pending_count() == 1
    queue.start_in_process(workers=1)
    assert handle.result(timeout=WAIT) == 2
    assert queue.pending_count() == 0


def test_run_now_runs_in_the_caller(harness: Harness, queue: JobQueue) -> None:
    assert queue.run_now("test.count", label="cli") == "cli"
    assert harness.runs() == ["cli"]
    assert queue.pending_count() == 0
    with pytest.raises(NotFound, match="resource R-1 does not exist"):
        queue.run_now("test.missing", code="R-1")


def test_unknown_job_name_is_not_found(queue: JobQueue) -> None:
    with pytest.raises(NotFound, match="no background job named 'test.nope'"):
        queue.enqueue("test.nope")
    with pytest.raises(NotFound, match="test.nope"):
        queue.run_now("test.nope")
    assert queue.pending_count() == 0


def test_bad_arguments_are_refused_before_queueing(queue: JobQueue) -> None:
    with pytest.raises(ValidationFailed, match="b"):
        queue.enqueue("test.add", a=1)
    with pytest.raises(ValidationFailed, match="JSON"):
        queue.enqueue("test.count", label=Path("/tmp"))  # noqa: S108
    with pytest.raises(ValidationFailed, match="negative"):
        queue.enqueue("test.add", delay=-1, a=1, b=2)
    assert queue.pending_count() == 0


def test_waiting_without_a_consumer_times_out(queue: JobQueue) -> None:
    handle = queue.enqueue("test.add", a=1, b=2)
    with pytest.raises(JobTimeout, match="did not finish within 0.3 s"):
        handle.result(timeout=0.3)


def test_stop_lets_a_running_job_finish(harness: Harness, queue: JobQueue) -> None:
    handle = queue.enqueue("test.slow", seconds=0.5)
    queue.start_in_process(workers=1)
    wait_until(lambda: (harness.workdir / "started").exists(), "the job to start")
    queue.stop(timeout=WAIT)
    assert (harness.workdir / "finished").read_text() == handle.id
    assert handle.result(timeout=1) == "done"


def test_close_closes_resources_that_have_close(harness: Harness) -> None:
    class Connection:
        closed = False

        def close(self) -> None:
            self.closed = True

    connection = Connection()
    queue = create_queue(
        harness.settings,
        registry=jobs,
        name=harness.name,
        context_factory=lambda settings: {"workdir": str(harness.workdir), "db": connection},
    )
    harness.opened.append(queue)
    assert queue.run_now("test.add", a=1, b=1) == 2
    queue.close()
    assert connection.closed


def test_consumer_cannot_start_twice_and_stops_cleanly(queue: JobQueue) -> None:
    queue.start_in_process(workers=2)
    assert queue.is_running
    with pytest.raises(Conflict):
        queue.start_in_process(workers=1)
    queue.stop(timeout=WAIT)
    queue.stop()  # stopping a stopped consumer is harmless
    assert not queue.is_running
    assert not [t for t in threading.enumerate() if t.name.startswith(("Worker-", "Scheduler"))]


WORKER_SCRIPT = """
import sys
from rongshu.core.jobs import create_queue
from rongshu.core.settings import load_settings
sys.path.insert(0, sys.argv[4])
from test_jobs import jobs

data_dir, workdir, name = sys.argv[1:4]
queue = create_queue(
    load_settings(data_dir=data_dir),
    registry=jobs,
    name=name,
    context_factory=lambda settings: {"workdir": workdir},
)
queue.run_worker(1)
queue.close()
print("worker stopped")
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_foreground_worker_finishes_its_job_on_a_stop_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    workdir = tmp_path / "work"
    workdir.mkdir()
    name = f"rongshu_test_{uuid.uuid4().hex[:12]}"
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER_SCRIPT))
    queue = create_queue(settings, registry=jobs, name=name)
    handle = queue.enqueue("test.slow", seconds=1.0)
    worker = subprocess.Popen(
        [sys.executable, str(script), str(settings.data_dir), str(workdir), name]
        + [str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: (workdir / "started").exists(), "the worker to start the job")
        worker.send_signal(signum)
        stdout, stderr = worker.communicate(timeout=WAIT)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=WAIT)
    assert worker.returncode == 0, stderr
    assert "worker stopped" in stdout
    assert (workdir / "finished").read_text() == handle.id
    assert handle.result(timeout=WAIT) == "done"
    queue.close()


def test_slots_limit_concurrent_holders_across_queues(harness: Harness) -> None:
    first, second = harness.open(), harness.open()  # two processes' view of one backend
    held = [
        first.acquire_slot("test.slots", 2, ttl=60),
        second.acquire_slot("test.slots", 2, ttl=60),
    ]
    assert all(held) and held[0] != held[1]
    assert first.acquire_slot("test.slots", 2, ttl=60) is None
    assert second.acquire_slot("test.other", 1, ttl=60) is not None  # groups are independent
    second.release_slot(held[0])  # any process may release a slot it was handed
    again = first.acquire_slot("test.slots", 2, ttl=60)
    assert again is not None
    with pytest.raises(ValidationFailed):
        first.acquire_slot("test.slots", 0, ttl=60)


def test_a_dead_holders_slot_frees_after_its_lifetime(queue: JobQueue) -> None:
    assert queue.acquire_slot("test.slots", 1, ttl=0.2) is not None
    assert queue.acquire_slot("test.slots", 1, ttl=0.2) is None
    time.sleep(0.3)
    assert queue.acquire_slot("test.slots", 1, ttl=60) is not None


def test_jobs_can_queue_follow_up_work(queue: JobQueue) -> None:
    queue.start_in_process(workers=2)
    assert queue.enqueue("test.follow_up", a=4).result(timeout=WAIT) == 8
