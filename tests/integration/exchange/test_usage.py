"""Usage counts: each worker counts in memory and writes its counts; reports add them up with
latency percentiles, per service, app and day, for the consuming and the owning department."""

from __future__ import annotations

import pytest

from rongshu.core.platform import Platform
from rongshu.exchange import services, usage
from rongshu.exchange.schemas import ServiceKind
from rongshu.exchange.usage import UsageRecorder, percentile

from .conftest import CODE, CONSUMER, OWNER, MakeShared


def test_percentiles_read_the_bucket_holding_the_quantile() -> None:
    histogram = [0] * (len(usage.BUCKETS_MS) + 1)
    histogram[1] = 98  # 98 calls in (0.5, 1] ms
    histogram[6] = 2  # 2 calls in (7.5, 10] ms
    assert percentile(histogram, 0.5) == 1
    assert percentile(histogram, 0.99) == 10
    assert percentile([0] * len(histogram), 0.5) is None


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_two_workers_counts_add_up_and_both_departments_see_them(
    platform: Platform, make_shared: MakeShared
) -> None:
    shared = make_shared(rows=5)
    with platform.db.session_scope() as session:
        service_id = services.get_service_row(session, f"{CODE}.verify").id
    first, second = UsageRecorder(platform.db), UsageRecorder(platform.db)
    for _ in range(90):
        first.count(service_id, shared.app_id, seconds=0.0008, outcome="ok", rows=1)
    for _ in range(9):
        second.count(service_id, shared.app_id, seconds=0.02, outcome="ok")
    second.count(service_id, shared.app_id, seconds=0.0, outcome="denied")
    assert first.flush() == 1 and second.flush() == 1
    assert first.flush() == 0  # nothing new

    with platform.db.session_scope() as session:
        for department in (CONSUMER, OWNER, None):
            report = usage.usage_report(session, department=department, daily_target=800_000)
            [row] = report.data
            assert (row.service, row.kind, row.calls, row.denied, row.rows) == (
                f"{CODE}.verify",
                ServiceKind.VERIFY,
                100,
                1,
                90,
            )
            assert (row.p50_ms, row.p99_ms) == (1, 20)
            assert report.calls_today == 99  # refusals are not answers
        assert usage.usage_report(session, department="JY").data == []
