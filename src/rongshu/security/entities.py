"""The kinds of personal and identifying information a column can hold (PII entity types).

PII detection names each column's entity type; grading (GB/T 35273, GB/T 43697) and masking
policies are keyed by it. The demo city's generator declares the same names as its ground truth.
"""

from __future__ import annotations

from rongshu.catalog.schemas import LabelledEnum


class EntityType(LabelledEnum):
    """An entity type PII detection can name."""

    RESIDENT_ID = "resident_id", "公民身份号码"
    CREDIT_CODE = "credit_code", "统一社会信用代码"
    PHONE = "phone", "电话号码"
    BANK_CARD = "bank_card", "银行卡号"
    EMAIL = "email", "电子邮箱"
    PERSON_NAME = "person_name", "姓名"
    ADDRESS = "address", "地址"
    VEHICLE_PLATE = "vehicle_plate", "机动车号牌"
    PASSPORT = "passport", "护照号码"
    IP_ADDRESS = "ip_address", "IP地址"
    COORDINATES = "coordinates", "经纬度"
    BIRTH_DATE = "birth_date", "出生日期"
