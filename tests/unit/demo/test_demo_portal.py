"""The portal's login log: residents' own phones, oldest first, from the carriers' addresses."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from datetime import datetime

import pytest

from rongshu.demo.identifiers import IdSequenceAllocator
from rongshu.demo.population import REFERENCE_DATE, Population
from rongshu.demo.portal import LOG_END, LOG_START, PortalLogins, client_ip
from rongshu.demo.schema import PORTAL_LOGIN_LOG
from rongshu.standards import get_standard

ROWS = 6_000


@pytest.fixture(scope="module")
def logins() -> tuple[list[dict[str, object]], set[str]]:
    population = Population(random.Random(10), IdSequenceAllocator(), ROWS)
    log = PortalLogins(random.Random(11), ROWS)
    phones: set[str] = set()
    rows: list[dict[str, object]] = []
    for chunk in population.chunks(1_500):
        for household in chunk.households:
            phones.update(p.phone for p in household.members if p.age_on(REFERENCE_DATE) >= 18)
        names = PORTAL_LOGIN_LOG.column_names
        made = log.rows(chunk.households, len(chunk.registry_rows))
        rows += [dict(zip(names, r, strict=True)) for r in made]
    return rows, phones


def test_accounts_are_adult_residents_mobile_numbers(
    logins: tuple[list[dict[str, object]], set[str]],
) -> None:
    rows, phones = logins
    mobile = get_standard("mobile")
    assert all(row["account"] in phones for row in rows)
    assert all(mobile.check(str(row["account"])).ok for row in rows)
    assert 0.3 < len(rows) / ROWS < 1.0


def test_the_log_covers_the_last_quarter_oldest_first_with_running_ids(
    logins: tuple[list[dict[str, object]], set[str]],
) -> None:
    rows, _ = logins
    assert [row["log_id"] for row in rows] == list(range(1, len(rows) + 1))
    times = [datetime.strptime(str(row["login_time"]), "%Y-%m-%d %H:%M:%S") for row in rows]
    assert times == sorted(times)
    assert LOG_START <= times[0] and times[-1] < LOG_END
    assert times[0].month == 10 and times[-1].month == 12
    hours = Counter(moment.hour for moment in times)
    assert hours[10] > 5 * hours[3]  # people sign in by day


def test_client_addresses_are_public_and_one_in_ten_is_ipv6(
    logins: tuple[list[dict[str, object]], set[str]],
) -> None:
    rows, _ = logins
    addresses = [ipaddress.ip_address(str(row["client_ip"])) for row in rows]
    assert all(address.is_global for address in addresses)
    share = sum(address.version == 6 for address in addresses) / len(addresses)
    assert 0.05 < share < 0.15
    assert Counter(row["channel"] for row in rows).keys() == {"网站", "App", "小程序"}
    results = Counter(row["result"] for row in rows)
    assert results.keys() == {"成功", "失败"} and results["失败"] < 0.1 * len(rows)


def test_ipv6_addresses_are_written_compressed() -> None:
    rng = random.Random(12)
    for _ in range(200):
        text = client_ip(rng, True)
        assert text == str(ipaddress.IPv6Address(text))
        assert text.split(":")[0] in ("240e", "2409", "2408")
