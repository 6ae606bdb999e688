"""The departments of 榕城: the big-data bureau that runs the platform, and the data providers.

The bureau also runs the government-service portal (政务服务网), so it provides one table of
its own: the portal's login log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rongshu.demo.identifiers import make_uscc
from rongshu.demo.regions import CITY_CODE
from rongshu.demo.schema import TABLES


def _agency_credit_code(code: str) -> str:
    # Government agencies (机构编制 1, 机关 1): a fixed, valid code per department.
    body = f"{int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10**8:08d}"
    return make_uscc("1", "1", CITY_CODE, body)


@dataclass(frozen=True, slots=True)
class Department:
    """A city department: the bureau (runs the platform) or a provider of source tables."""

    code: str
    name: str
    short_name: str
    region_code: str
    credit_code: str
    is_bureau: bool
    tables: tuple[str, ...]
    parent_code: str | None = None


def _department(code: str, name: str, short_name: str, *, bureau: bool = False) -> Department:
    tables = tuple(table.key for table in TABLES if table.department == code)
    return Department(
        code, name, short_name, CITY_CODE, _agency_credit_code(code), bureau, tables, None
    )


#: The bureau first, then the providers; ``tables`` are keys of ``rongshu.demo.schema.TABLES``.
DEPARTMENTS: tuple[Department, ...] = (
    _department("DSJ", "榕城市大数据管理局", "大数据局", bureau=True),
    _department("GA", "榕城市公安局", "公安局"),
    _department("RS", "榕城市人力资源和社会保障局", "人社局"),
    _department("SCJG", "榕城市市场监督管理局", "市场监管局"),
    _department("WJ", "榕城市卫生健康委员会", "卫健委"),
    _department("MZ", "榕城市民政局", "民政局"),
    _department("ZJ", "榕城市住房和城乡建设局", "住建局"),
    _department("JY", "榕城市教育局", "教育局"),
    _department("SW", "国家税务总局榕城市税务局", "税务局"),
    _department("STHJ", "榕城市生态环境局", "生态环境局"),
    _department("SL", "榕城市水利局", "水利局"),
    _department("JT", "榕城市交通运输局", "交通运输局"),
)

DEPARTMENT_BY_CODE: dict[str, Department] = {d.code: d for d in DEPARTMENTS}
BUREAU: Department = DEPARTMENTS[0]
PROVIDERS: tuple[Department, ...] = tuple(d for d in DEPARTMENTS if not d.is_bureau)
