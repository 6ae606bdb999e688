"""The government-service portal's login log (大数据局 政务服务网): residents signing in.

Accounts are the residents' own mobile numbers, so a login links back to the household
registry. The log covers the last quarter of the reference year, oldest first: each chunk of
residents logs in during its share of the quarter, more often by day than at night. Client
addresses come from the address blocks the carriers use in Fujian, about one in ten over IPv6.
"""

from __future__ import annotations

import ipaddress
import random
from datetime import datetime, timedelta

from rongshu.demo.population import REFERENCE_DATE, Household, Person

Rows = list[list[object]]

#: The quarter the log covers: from its first second to the end of the reference date.
LOG_START = datetime(REFERENCE_DATE.year, 10, 1)
LOG_END = datetime.combine(REFERENCE_DATE + timedelta(days=1), datetime.min.time())

#: Channel, its share of logins, its share over IPv6 (mobile networks), and how users of it
#: sign in (method, share, share that fails).
_CHANNELS: tuple[tuple[str, float, float, tuple[tuple[str, float, float], ...]], ...] = (
    ("App", 45, 0.14, (("人脸识别", 35, 0.05), ("密码", 30, 0.08), ("短信验证码", 35, 0.03))),
    ("网站", 30, 0.04, (("密码", 45, 0.09), ("短信验证码", 35, 0.04), ("扫码登录", 20, 0.01))),
    ("小程序", 25, 0.12, (("授权登录", 70, 0.01), ("短信验证码", 30, 0.04))),
)
_CHANNEL_WEIGHTS = tuple(weight for _, weight, _, _ in _CHANNELS)
#: Relative login activity by hour of day (Beijing time).
_HOURLY = (
    0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.4, 0.8, 1.0, 1.0, 0.9,
    0.6, 0.7, 0.9, 1.0, 0.95, 0.8, 0.6, 0.65, 0.75, 0.7, 0.45, 0.2,
)  # fmt: skip
#: First two octets of IPv4 blocks of the carriers' Fujian networks (broadband and mobile).
_IPV4_BLOCKS: tuple[tuple[int, int], ...] = (
    *((27, b) for b in range(148, 156)), *((36, b) for b in range(248, 252)),
    *((58, b) for b in (22, 23)), *((59, b) for b in range(56, 62)), (61, 154),
    *((110, b) for b in range(80, 91)), (112, 5), *((112, b) for b in range(47, 52)),
    *((117, b) for b in range(24, 32)), *((120, b) for b in range(32, 44)),
    *((121, b) for b in range(204, 208)), (125, 77), (125, 78), (218, 5), (218, 6), (218, 85),
    (218, 86), *((222, b) for b in range(76, 80)), *((183, b) for b in range(250, 254)),
)  # fmt: skip
#: First 16 bits of the carriers' IPv6 allocations (China Telecom, Mobile, Unicom) and the
#: range of the next 16 bits their provincial networks use.
_IPV6_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (0x240E, 0x0300, 0x03FF),
    (0x2409, 0x8A00, 0x8CFF),
    (0x2408, 0x8000, 0x8FFF),
)


def client_ip(rng: random.Random, ipv6: bool) -> str:
    """A public client address in one of the carriers' blocks, as a log writes it."""
    if ipv6:
        first, low, high = _IPV6_BLOCKS[int(rng.random() * len(_IPV6_BLOCKS))]
        value = (first << 112) | (rng.randint(low, high) << 96) | rng.getrandbits(96)
        return str(ipaddress.IPv6Address(value))
    a, b = _IPV4_BLOCKS[int(rng.random() * len(_IPV4_BLOCKS))]
    return f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


class PortalLogins:
    """The login log, chunk by chunk of residents, in time order with running log ids."""

    def __init__(self, rng: random.Random, residents: int) -> None:
        self._rng = rng
        self._residents = residents
        self._seen = 0
        self._logged = 0

    def rows(self, households: list[Household], registry_rows: int) -> Rows:
        """Logins of the households' users in the part of the quarter ``registry_rows`` of the
        registry's rows take up, oldest first."""
        rng = self._rng
        span = LOG_END - LOG_START
        start = LOG_START + span * (self._seen / self._residents)
        self._seen += registry_rows
        end = LOG_START + span * min(1.0, self._seen / self._residents)
        events: list[tuple[datetime, list[object]]] = []
        for household in households:
            for person in household.members:
                if not self._is_user(household, person):
                    continue
                logins = 1
                while rng.random() < 0.4:
                    logins += 1
                for _ in range(logins):
                    events += self._login(person.phone, self._moment(start, end), end)
        events.sort(key=lambda event: event[0])
        rows: Rows = []
        for moment, row in events:
            self._logged += 1
            rows.append([self._logged, row[0], moment.strftime("%Y-%m-%d %H:%M:%S"), *row[1:]])
        return rows

    def _is_user(self, household: Household, person: Person) -> bool:
        """Adults with a phone of their own use the portal, the old ones less."""
        age = person.age_on(REFERENCE_DATE)
        if age < 18 or (person is not household.head and person.phone == household.head.phone):
            return False
        return self._rng.random() < (0.55 if age < 60 else 0.25)

    def _moment(self, start: datetime, end: datetime) -> datetime:
        """A second in [start, end), busier hours likelier (rejection sampling)."""
        rng = self._rng
        seconds = max(1, int((end - start).total_seconds()))
        while True:
            moment = start + timedelta(seconds=int(rng.random() * seconds))
            if rng.random() < _HOURLY[moment.hour]:
                return moment

    def _login(
        self, account: str, moment: datetime, end: datetime
    ) -> list[tuple[datetime, list[object]]]:
        """One sign-in; after a failure most users try again within minutes, and succeed."""
        rng = self._rng
        channel, _, ipv6_share, methods = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
        method, _, failing = rng.choices(methods, [weight for _, weight, _ in methods])[0]
        address = client_ip(rng, rng.random() < ipv6_share)
        failed = rng.random() < failing
        outcome: list[object] = [account, address, channel, method, "失败" if failed else "成功"]
        attempts = [(moment, outcome)]
        if failed and rng.random() < 0.7:
            retry = moment + timedelta(seconds=rng.randint(20, 180))
            retry = max(moment, min(retry, end - timedelta(seconds=1)))  # inside the chunk's part
            attempts.append((retry, [account, address, channel, method, "成功"]))
        return attempts
