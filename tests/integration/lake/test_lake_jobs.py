"""The nightly ``lake.vacuum`` job applies the installation's retention settings to every table."""

from __future__ import annotations

from pathlib import Path

from rongshu.core.jobs import JobContext
from rongshu.core.settings import Settings
from rongshu.lake import Lake
from rongshu.lake.jobs import vacuum
from rongshu.lake.storage import write_lock

from .test_lake_retention import four_versions


def test_vacuum_applies_the_settings_to_every_table_and_skips_busy_ones(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, lake_retention_versions=1, lake_retention_days=0)
    lake = Lake.from_settings(settings)
    assert (lake.root, lake.retention_versions, lake.retention_days) == (settings.lake_dir, 1, 0)
    quiet = four_versions(lake)
    busy = lake.table("GA-0002")
    for _ in range(2):
        busy.commit(quiet.read().to_batches(), schema=quiet.schema(), mode="append")

    with write_lock(busy.path, table=busy.name, timeout=0.0):  # a load is writing it
        assert vacuum(JobContext(settings)) == {"tables": 1, "files_deleted": 2, "skipped": 1}

    assert [v.version for v in quiet.versions()] == [3]
    assert [v.version for v in busy.versions()] == [0, 1]  # next night
    assert vacuum(JobContext(settings))["skipped"] == 0
    assert [v.version for v in busy.versions()] == [1]
