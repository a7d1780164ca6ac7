"""Request and response bodies of the REST API (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from gis.check.rules import KINDS
from service.core.personal import valid_credit_code, valid_phone, valid_resident_id


def _known_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"未知申请类型 unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


Kind = Annotated[str, AfterValidator(_known_kind), WithJsonSchema({"type": "string", "enum": list(KINDS)})]
MAX_VERSION = 2**31 - 1  # a case's version is an integer column: larger numbers are refused here, not by PostgreSQL


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class CaseCreate(BaseModel):
    """An application taken in at the window."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    applicant_name: str = Field(min_length=1, max_length=100)
    applicant_type: Literal["person", "unit"] = "person"
    id_number: str | None = Field(default=None, max_length=32, description="居民身份证号 or 统一社会信用代码")
    phone: str | None = Field(default=None, max_length=20)
    township: str | None = Field(default=None, max_length=50)
    village: str | None = Field(default=None, max_length=50)
    household_id: str | None = Field(default=None, max_length=50)
    project_name: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=200)
    mineral: str | None = Field(default=None, max_length=50)
    depth_top: float | None = Field(default=None, ge=-5000, le=9000, description="开采标高上 (m)")
    depth_bottom: float | None = Field(default=None, ge=-5000, le=9000, description="开采标高下 (m)")
    green_channel: bool = False
    materials_received: list[str] = Field(default_factory=list, max_length=50)
    boundary: dict[str, Any] | None = Field(default=None, description="GeoJSON drawn on the map (lon/lat)")

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str | None) -> str | None:
        return v.strip().upper() if v else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not valid_phone(v):
            raise ValueError("电话号码格式不正确 / not a valid phone number")
        return v.strip()

    @model_validator(mode="after")
    def _identity(self) -> CaseCreate:
        if self.id_number is None:
            return self
        if self.applicant_type == "person" and not valid_resident_id(self.id_number):
            raise ValueError("id_number: 居民身份证号码校验不通过 / not a valid resident ID number (check digit)")
        if self.applicant_type == "unit" and not valid_credit_code(self.id_number):
            raise ValueError("id_number: 统一社会信用代码校验不通过 / not a valid unified social credit code")
        return self

    @model_validator(mode="after")
    def _depths(self) -> CaseCreate:
        if self.depth_top is not None and self.depth_bottom is not None and self.depth_top <= self.depth_bottom:
            raise ValueError("开采标高上须高于标高下 / depth_top must be above depth_bottom")
        return self


class TransitionIn(BaseModel):
    """A move along the workflow, based on the version the client saw."""

    model_config = ConfigDict(extra="forbid")

    transition: str = Field(min_length=1, max_length=50)
    version: int = Field(ge=1, le=MAX_VERSION)
    reason: str | None = Field(default=None, max_length=2000)


class MiningRightIn(BaseModel):
    """A change of a granted mining right: 延续 (valid_to), 变更 (holder, mineral, depths), 转让 (holder), 注销."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["renew", "change", "transfer", "cancel"]
    version: int = Field(ge=1, le=MAX_VERSION)
    reason: str | None = Field(default=None, max_length=2000)
    valid_to: date | None = Field(default=None, description="延续后的有效期止")
    holder: str | None = Field(default=None, max_length=200, description="采矿权人（变更名称或受让人）")
    mineral: str | None = Field(default=None, max_length=50)
    depth_top: float | None = Field(default=None, ge=-5000, le=9000, description="开采标高上 (m)")
    depth_bottom: float | None = Field(default=None, ge=-5000, le=9000, description="开采标高下 (m)")


class MaterialsIn(BaseModel):
    """The full list of materials received so far."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)
    received: list[str] = Field(max_length=50)


class TaskIn(BaseModel):
    """A department's review opinion."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)
    result: Literal["agree", "disagree"]
    opinion: str = Field(min_length=1, max_length=4000)


class OverrideIn(BaseModel):
    """A leader's exception to a blocking map finding."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)
    reason: str = Field(min_length=2, max_length=2000)


class RatingIn(BaseModel):
    """The applicant's star rating."""

    model_config = ConfigDict(extra="forbid")

    stars: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ClockOut(BaseModel):
    """One deadline clock as shown to people."""

    due: datetime | None
    provisional: bool
    note: str | None
    status: str | None = None
    remaining_working_days: float | None = None


class CaseSummary(BaseModel):
    """A row of the case list (personal data masked)."""

    id: int
    case_no: str
    kind: str
    status: str
    status_title: str
    version: int
    applicant_name: str
    phone: str | None
    received_at: datetime
    green_channel: bool
    area_m2: float | None
    verdict: str | None
    statutory: ClockOut
    promised: ClockOut
