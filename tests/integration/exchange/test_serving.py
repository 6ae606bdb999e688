"""The serving index answers queries and verifications from the lake's current version: the
same rows as the lake, sealed fields sealed on disk, verdicts on normalised values, the grant's
columns, row filter and masking."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rongshu.core.errors import NotFound, PermissionDenied, ValidationFailed
from rongshu.core.jobs import JobContext
from rongshu.core.platform import Platform
from rongshu.exchange import grants, services
from rongshu.exchange.grants import ActiveGrant
from rongshu.exchange.jobs import build_serving_index
from rongshu.exchange.schemas import Condition, FieldVerdict, ServiceKind
from rongshu.exchange.serving import CHECK_SECONDS, build, query, serving_store, verify
from rongshu.exchange.serving_index import ServingIndex, index_path
from rongshu.lake.tables import Lake, LakeTable
from rongshu.security.schemas import MaskingProfile
from rongshu.security.service import key_provider

from ..conftest import Write
from .conftest import CODE, MakeShared, Shared, people

sqlite_only = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
MATCH, MISMATCH, EMPTY = FieldVerdict.MATCH, FieldVerdict.MISMATCH, FieldVerdict.EMPTY


def active(
    shared: Shared,
    kind: ServiceKind,
    columns: Sequence[str] | None = None,
    **options: Any,
) -> ActiveGrant:
    """Grant the app ``kind`` and return the grant as a call sees it."""
    shared.grant(kind, columns, **options)
    with shared.platform.db.session_scope() as session:
        found = grants.active_grant(
            session, app_id=shared.app_id, service_code=services.service_code(shared.code, kind)
        )
    assert found is not None
    return found


def full_width(text: str) -> str:
    """``text`` as a full-width keyboard types it (ASCII letters and digits)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def lake_table(platform: Platform) -> LakeTable:
    return Lake.from_settings(platform.settings).table(CODE)


@sqlite_only
def test_index_holds_the_rows_of_the_lake_version(make_shared: MakeShared) -> None:
    shared = make_shared(rows=200)
    table = lake_table(shared.platform)
    path = build(shared.platform, CODE)
    index = ServingIndex(path, key_provider(shared.platform))
    assert (index.version, index.row_count) == (table.version(), 200)
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table.read().to_pylist():
        by_key[row["id_number"]].append(row)
    for id_number, rows in by_key.items():
        assert index.rows({"id_number": id_number}) == rows
    assert index.rows({"id_number": "110101199001011237"}) == []


@sqlite_only
def test_sealed_fields_are_sealed_in_the_file_and_opened_for_queries(
    make_shared: MakeShared,
) -> None:
    shared = make_shared(rows=50)
    table = lake_table(shared.platform)
    table.commit(table.batches(), schema=table.schema(), mode="overwrite", encrypt=["remark"])
    path = build(shared.platform, CODE)
    stored = path.read_bytes()
    assert "福州市".encode() in stored  # unsealed text is in the file as written
    assert "备注".encode() not in stored
    assert b"sm4gcm:v" in stored
    index = ServingIndex(path, key_provider(shared.platform))
    row = shared.rows[7]
    assert index.rows({"id_number": row["id_number"]}, ["remark"]) == [{"remark": "备注7"}]
    grant = active(shared, ServiceKind.QUERY, ["id_number", "remark"], profile=MaskingProfile.CLEAR)
    version, rows = query(shared.platform, grant, {"id_number": row["id_number"]})
    assert (version, rows) == (index.version, [{"id_number": row["id_number"], "remark": "备注7"}])


@sqlite_only
def test_verification_verdicts(make_shared: MakeShared, write: Write) -> None:
    shared = make_shared(rows=40)
    rows = people(40)
    rows[1]["address"] = None
    rows.append(dict(rows[0], phone="13911112222"))  # a second row with the same key
    write(CODE, rows)
    grant = active(shared, ServiceKind.VERIFY)
    row = rows[0]
    assert row["id_number"].endswith("X")
    key = {"id_number": full_width(row["id_number"].lower())}
    version, found, verdicts = verify(
        shared.platform,
        grant,
        key,
        {
            "name": f" {row['name']}\u3000",
            "phone": full_width(row["phone"]),
            "birth_date": row["birth_date"].isoformat(),
            "district": "350199",
        },
    )
    assert (version, found) == (lake_table(shared.platform).version(), True)
    assert verdicts == {"name": MATCH, "phone": MATCH, "birth_date": MATCH, "district": MISMATCH}
    _, _, verdicts = verify(shared.platform, grant, key, {"phone": "13911112222"})
    assert verdicts == {"phone": MATCH}
    _, found, verdicts = verify(
        shared.platform, grant, {"id_number": rows[1]["id_number"]}, {"address": "福州市"}
    )
    assert (found, verdicts) == (True, {"address": EMPTY})
    _, found, verdicts = verify(
        shared.platform, grant, {"id_number": "110101199001011237"}, {"name": "王伟"}
    )
    assert (found, verdicts) == (False, {})


@sqlite_only
def test_claims_and_keys_outside_the_grant_are_refused(make_shared: MakeShared) -> None:
    shared = make_shared(rows=10)
    grant = active(shared, ServiceKind.VERIFY, ["id_number", "name"])
    key = {"id_number": shared.rows[0]["id_number"]}
    with pytest.raises(ValidationFailed, match="phone") as refused:
        verify(shared.platform, grant, key, {"name": "王伟", "phone": "13800000000"})
    assert refused.value.status == 422
    with pytest.raises(ValidationFailed, match="id_number"):
        verify(shared.platform, grant, {"name": "王伟"}, {"name": "王伟"})
    with pytest.raises(ValidationFailed, match="id_number"):
        verify(shared.platform, grant, {**key, "phone": "1"}, {"name": "王伟"})
    with pytest.raises(PermissionDenied):
        query(shared.platform, grant, key)


@sqlite_only
def test_row_filter_makes_other_keys_not_found(make_shared: MakeShared) -> None:
    shared = make_shared(rows=20)
    inside, outside = shared.rows[0], shared.rows[1]
    assert (inside["district"], outside["district"]) == ("350102", "350103")
    only = [Condition(column="district", value="350102")]
    check = active(shared, ServiceKind.VERIFY, conditions=only)
    claim = {"name": inside["name"]}
    assert verify(shared.platform, check, {"id_number": inside["id_number"]}, claim)[1:] == (
        True,
        {"name": MATCH},
    )
    claim = {"name": outside["name"]}
    assert verify(shared.platform, check, {"id_number": outside["id_number"]}, claim)[1:] == (
        False,
        {},
    )
    look = active(
        shared, ServiceKind.QUERY, ["name"], conditions=only, profile=MaskingProfile.CLEAR
    )
    assert query(shared.platform, look, {"id_number": outside["id_number"]})[1] == []
    assert query(shared.platform, look, {"id_number": inside["id_number"]})[1] == [
        {"name": inside["name"]}
    ]


@sqlite_only
def test_a_new_lake_version_is_served_and_old_files_go(
    make_shared: MakeShared, write: Write
) -> None:
    shared = make_shared(rows=20)
    grant = active(shared, ServiceKind.VERIFY, ["phone"])
    key = {"id_number": shared.rows[0]["id_number"]}
    first, _, verdicts = verify(shared.platform, grant, key, {"phone": shared.rows[0]["phone"]})
    assert verdicts == {"phone": MATCH}
    second = write(CODE, [dict(r, phone="13900000000") for r in shared.rows])
    time.sleep(CHECK_SECONDS + 0.1)
    version, _, verdicts = verify(shared.platform, grant, key, {"phone": shared.rows[0]["phone"]})
    assert (version, verdicts) == (second, {"phone": MISMATCH})
    assert verify(shared.platform, grant, key, {"phone": "13900000000"})[2] == {"phone": MATCH}
    third = write(CODE, shared.rows)
    directory = build(shared.platform, CODE).parent
    assert sorted(p.name for p in directory.glob("*.sqlite")) == sorted(
        [f"v{second}.sqlite", f"v{third}.sqlite"]
    )
    assert first < second < third


@sqlite_only
def test_concurrent_builds_leave_one_good_file(make_shared: MakeShared) -> None:
    shared = make_shared(rows=200)
    start = threading.Barrier(2)

    def build_at_once() -> str:
        start.wait()
        return str(build(shared.platform, CODE))

    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: build_at_once(), range(2)))
    version = lake_table(shared.platform).version()
    assert version is not None
    path = index_path(shared.platform.settings, CODE, version)
    assert built == [str(path), str(path)]
    assert [p.name for p in path.parent.iterdir() if p.name != ".build.lock"] == [path.name]
    assert ServingIndex(path, key_provider(shared.platform)).row_count == 200


def test_query_masks_per_the_grant_profile(make_shared: MakeShared) -> None:
    shared = make_shared(rows=20)
    row = shared.rows[0]
    key = {"id_number": row["id_number"]}
    standard = active(shared, ServiceKind.QUERY, profile=MaskingProfile.STANDARD)
    _, [masked] = query(shared.platform, standard, key)
    assert masked["name"] == "王*"
    assert masked["phone"] == f"{row['phone'][:3]}****{row['phone'][-4:]}"
    assert masked["remark"] == "***"  # graded important
    clear = active(shared, ServiceKind.QUERY, profile=MaskingProfile.CLEAR)
    version, rows = query(shared.platform, clear, key)
    assert rows == [{**row, "birth_date": row["birth_date"].isoformat()}]
    assert version == lake_table(shared.platform).version()


@sqlite_only
def test_the_build_job_builds_the_current_version(make_shared: MakeShared) -> None:
    shared = make_shared(rows=10)
    ctx = JobContext(shared.platform.settings, resources={"platform": shared.platform})
    done = build_serving_index(ctx, code=CODE)
    version = lake_table(shared.platform).version()
    assert version is not None
    assert done == str(index_path(shared.platform.settings, CODE, version))
    assert ServingIndex(Path(done), key_provider(shared.platform)).row_count == 10


@sqlite_only
def test_resources_without_lake_data_are_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound, match="no data in the lake"):
        serving_store(platform).index("GA-0404")
    with pytest.raises(NotFound, match="no data in the lake"):
        build(platform, "GA-0404")
