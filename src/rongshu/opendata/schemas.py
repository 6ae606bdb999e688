"""The open-data portal's vocabulary and in/out shapes: datasets, releases and their files,
accounts, comments, data requests and showcased applications."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from rongshu.catalog.schemas import LabelledEnum, OpenType, UpdateCycle
from rongshu.exchange.schemas import COLUMN_NAME
from rongshu.security.schemas import MaskingProfile


class Theme(LabelledEnum):
    """Portal themes (CKAN groups): the open-data field classification bureaus use."""

    ECONOMY = "economy", "经济建设"
    ENVIRONMENT = "environment", "资源环境"
    TRANSPORT = "transport", "道路交通"
    PUBLIC_SAFETY = "public_safety", "公共安全"
    HEALTH = "health", "卫生健康"
    EDUCATION = "education", "教育文化"
    SOCIAL = "social", "社会民生"
    URBAN = "urban", "城建住房"
    AGRICULTURE = "agriculture", "农业农村"
    GOVERNMENT = "government", "机构团体"


class Licence(LabelledEnum):
    """Licences datasets are opened under; ids are CKAN's ``license_id`` values."""

    CC_BY_4 = "cc-by-4.0", "知识共享署名 4.0"
    CC_ZERO = "cc-zero", "CC0 公共领域贡献"
    ODC_BY = "odc-by", "开放数据共享署名许可"
    GOV_OPEN = "gov-open-cn", "政府数据开放许可（署名、不得用于违法用途）"


LICENCE_URLS: dict[Licence, str] = {
    Licence.CC_BY_4: "https://creativecommons.org/licenses/by/4.0/",
    Licence.CC_ZERO: "https://creativecommons.org/publicdomain/zero/1.0/",
    Licence.ODC_BY: "https://opendatacommons.org/licenses/by/1-0/",
    Licence.GOV_OPEN: "https://rongshu.example/licences/gov-open-cn",
}


class DatasetState(LabelledEnum):
    ACTIVE = "active", "已开放"
    WITHDRAWN = "withdrawn", "已撤回"


class ReleaseState(LabelledEnum):
    READY = "ready", "可下载"
    REFUSED = "refused", "未发布"


class DownloadFormat(LabelledEnum):
    """Download formats; ``csv`` is UTF-8 with a BOM, GB18030 on request."""

    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel"
    JSON = "json", "JSON"
    PARQUET = "parquet", "Parquet"


class DatasetSpec(BaseModel):
    """What a steward declares when opening a resource; everything has a sensible default."""

    title: str = Field("", max_length=200, description="Defaults to the resource's name.")
    notes: str = Field("", max_length=5000, description="Defaults to the resource's summary.")
    tags: list[str] = Field(default_factory=list, max_length=20)
    theme: Theme = Theme.GOVERNMENT
    licence: Licence = Licence.CC_BY_4
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str = Field("", max_length=100, description="Area covered, e.g. 榕城市.")
    columns: list[str] = Field(
        default_factory=list,
        description="Fields to open; empty: every field that is not personal information.",
    )
    quasi_identifiers: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Fields that together could single someone out (k-anonymity is checked).",
    )
    k_anonymity: int = Field(5, ge=2, le=1000, description="Smallest group a combination needs.")
    masking_profile: MaskingProfile = Field(
        MaskingProfile.STANDARD, description="The security masking profile the data is read by."
    )
    featured: bool = False

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [t.strip() for t in value if t.strip()]
        for tag in cleaned:
            if len(tag) > 40:
                raise ValueError(f"tag {tag[:40]!r}… is longer than 40 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("columns", "quasi_identifiers")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if not COLUMN_NAME.match(column):
                raise ValueError(f"{column!r} is not a column name")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _coverage(self) -> DatasetSpec:
        if self.temporal_start and self.temporal_end and self.temporal_start > self.temporal_end:
            raise ValueError("temporal_start is after temporal_end")
        return self


class ReleaseField(BaseModel):
    """A column of a release: its lake name, the catalog's Chinese name and its type."""

    name: str
    label: str
    type: str = Field(description="Arrow type, e.g. string, int64, double, timestamp[us, tz=UTC].")
    description: str = ""


class ReleaseFile(BaseModel):
    format: DownloadFormat
    encoding: str = "utf-8"
    size: int
    sha256: str
    url: str = ""


class ReleasePublic(BaseModel):
    version: int = Field(description="The lake version the release was made from.")
    state: ReleaseState
    rows: int
    suppressed_rows: int = Field(
        description="Rows whose quasi-identifier cells were blanked (k-anonymity)."
    )
    dropped_rows: int = Field(description="Rows left out: too rare even when blanked.")
    fields: list[ReleaseField]
    files: list[ReleaseFile]
    error: str = ""
    created_at: datetime


class DatasetPublic(BaseModel):
    """A dataset as the portal and its APIs show it."""

    name: str
    resource_code: str
    title: str
    notes: str
    tags: list[str]
    theme: Theme
    licence: Licence
    access: OpenType
    state: DatasetState
    department_code: str
    department_name: str
    update_cycle: UpdateCycle
    temporal_start: date | None
    temporal_end: date | None
    spatial: str
    columns: list[str]
    quasi_identifiers: list[str]
    k_anonymity: int
    masking_profile: MaskingProfile
    featured: bool
    quality_score: float | None = Field(description="The latest quality scorecard, 0–100.")
    created_at: datetime
    updated_at: datetime
    views: int
    downloads: int
    calls: int
    rating: float | None
    ratings: int
    latest: ReleasePublic | None = Field(description="The newest downloadable release.")


class DatasetList(BaseModel):
    data: list[DatasetPublic]
    count: int


class RegistrationStart(BaseModel):
    contact: str = Field(min_length=3, max_length=200, description="E-mail address or mobile.")


class RegistrationFinish(BaseModel):
    contact: str = Field(min_length=3, max_length=200)
    code: str = Field(min_length=4, max_length=12)
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class AccountPublic(BaseModel):
    username: str
    display_name: str
    contact: str = Field(description="Shown masked.")
    app_id: int


class ConditionalApply(BaseModel):
    """A member of the public's application for a conditional dataset."""

    purpose: str = Field(min_length=2, max_length=500)
    scenario: str = Field("", max_length=1000)
    expected_daily_calls: int = Field(100, ge=1, le=1_000_000)
    valid_days: int = Field(365, ge=1, le=3 * 365)


class CommentCreate(BaseModel):
    rating: int | None = Field(None, ge=1, le=5)
    text: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> CommentCreate:
        if self.rating is None and not self.text.strip():
            raise ValueError("give a rating, a comment, or both")
        return self


class CommentPublic(BaseModel):
    author: str
    rating: int | None
    text: str
    created_at: datetime


class RequestState(LabelledEnum):
    OPEN = "open", "待答复"
    ANSWERED = "answered", "已答复"


class DataRequestCreate(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=2, max_length=5000)
    department_code: str = Field(min_length=1, max_length=32)


class DataRequestPublic(BaseModel):
    id: int
    title: str
    description: str
    department_code: str
    department_name: str
    requester: str
    state: RequestState
    answer: str
    answered_by: str | None
    answered_at: datetime | None
    created_at: datetime


class ShowcaseState(LabelledEnum):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已展示"
    REFUSED = "refused", "未通过"


class ShowcaseCreate(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=2, max_length=5000)
    url: str = Field(min_length=8, max_length=500)
    datasets: list[str] = Field(min_length=1, max_length=20)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the link must start with https:// or http://")
        return value


class ShowcasePublic(BaseModel):
    id: int
    title: str
    description: str
    url: str
    datasets: list[str]
    submitter: str
    state: ShowcaseState
    reason: str
    created_at: datetime
