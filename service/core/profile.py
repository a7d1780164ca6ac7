"""The county profile: everything that is one county's and not the product's — its name and codes, its extent, the
offices its documents name and sign with, the document numbers, its place in the filing chain and its homestead caps.

Read from one TOML file (LANDWINDOW_COUNTY_PROFILE; the shipped Xian'an profile by default) and validated once when
the settings are built: a wrong or missing key stops the program with a message naming the key.
"""

from __future__ import annotations

import csv
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from gis.boundary import CountyExtent
from gis.check import HomesteadCaps
from gis.check.rules import homestead_caps
from service.core.tables import DATA_DIR

DEFAULT_PROFILE = DATA_DIR / "profiles" / "xianan.toml"
LEVELS = ("county", "city", "province", "ministry")
# mainland China with the islands, lon/lat: a box outside it is a typo (or x and y swapped)
_LON = (73.0, 136.0)
_LAT = (3.0, 54.0)
_SAMPLE_SEQ = "ZJ-000001"
CHINA = CountyExtent(_LON[0], _LON[1], _LAT[0], _LAT[1])
"""What an import's dry run checks features against while the county's extent is not known yet."""


class ProfileError(ValueError):
    """The county profile cannot be read or has wrong keys; the message names the file and every key."""


@cache
def provinces() -> dict[str, str]:
    """Return the provincial-level divisions by short name → their two-digit GB/T 2260 code (provinces.csv)."""
    rows = csv.DictReader((DATA_DIR / "provinces.csv").read_text("utf-8").splitlines())
    return {r["name"]: r["code"] for r in rows}


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Extent(_Table):
    """The lon/lat box applications must lie in, or the townships layer's box widened by a margin."""

    source: Literal["profile", "townships"] = "profile"
    lon_min: float | None = Field(default=None, ge=_LON[0], le=_LON[1])
    lon_max: float | None = Field(default=None, ge=_LON[0], le=_LON[1])
    lat_min: float | None = Field(default=None, ge=_LAT[0], le=_LAT[1])
    lat_max: float | None = Field(default=None, ge=_LAT[0], le=_LAT[1])
    margin_deg: float = Field(default=0.05, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _box(self) -> Extent:
        values = {"lon_min": self.lon_min, "lon_max": self.lon_max, "lat_min": self.lat_min, "lat_max": self.lat_max}
        missing = [k for k, v in values.items() if v is None]
        if missing and len(missing) < 4:
            raise ValueError(
                f"缺少 {', '.join(missing)}：四个边界须同时给出 / {', '.join(missing)} missing: give all four bounds"
            )
        if missing and self.source == "profile":
            raise ValueError(
                '缺少 lon_min, lon_max, lat_min, lat_max（或设 source = "townships"）/ the box lon_min, lon_max, '
                'lat_min, lat_max is needed unless source = "townships"'
            )
        if not missing:
            for low, high in (("lon_min", "lon_max"), ("lat_min", "lat_max")):
                if values[low] >= values[high]:  # type: ignore[operator]
                    raise ValueError(f"{low} 须小于 {high} / {low} must be less than {high}")
        return self

    @property
    def box(self) -> CountyExtent | None:
        """Return the profile's own box, when it gives one."""
        if self.lon_min is None or self.lon_max is None or self.lat_min is None or self.lat_max is None:
            return None
        return CountyExtent(self.lon_min, self.lon_max, self.lat_min, self.lat_max)


class Offices(_Table):
    """The offices the documents name: the issuing bureau, the window, the government reconsideration goes to."""

    bureau: str = Field(min_length=2, max_length=60)
    window: str = Field(min_length=2, max_length=80)
    government: str = Field(min_length=2, max_length=60)


class Documents(_Table):
    """Document number patterns and the reconsideration clause."""

    decision_number: str = Field(min_length=1, max_length=80)
    certificate_number: str = Field(min_length=1, max_length=80)
    reconsideration: str = Field(min_length=1, max_length=500)
    reconsideration_en: str = Field(min_length=1, max_length=500)

    @field_validator("decision_number", "certificate_number")
    @classmethod
    def _number(cls, v: str) -> str:
        if "{year}" not in v or "{seq}" not in v:
            raise ValueError("须含 {year} 和 {seq} / must contain {year} and {seq}")
        try:
            v.format(year=2026, seq=_SAMPLE_SEQ)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"只能用 {{year}} 和 {{seq}} / only {{year}} and {{seq}} may be used: {exc}") from exc
        return v

    @field_validator("reconsideration", "reconsideration_en")
    @classmethod
    def _clause(cls, v: str) -> str:
        try:
            v.format(government="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"只能用 {{government}} / only {{government}} may be used: {exc}") from exc
        return v


class Instance(_Table):
    """This installation's place in the filing chain and the name on its packages (default: the bureau)."""

    level: Literal["county", "city", "province", "ministry"] = "county"
    name: str | None = Field(default=None, min_length=2, max_length=80)


class Caps(_Table):
    """The county's own homestead caps (m² per household) by land type, with their legal source."""

    cultivated_m2: float = Field(gt=0, le=10000)
    other_m2: float = Field(gt=0, le=10000)
    basis: str = Field(min_length=1, max_length=500)


class CountyProfile(_Table):
    """One county's profile (see service/data/profiles/xianan.toml for every key with its meaning)."""

    name: str = Field(min_length=2, max_length=40)
    admin_code: str = Field(pattern=r"^\d{6}$")
    province: str
    city: str = Field(default="", max_length=40)
    case_prefix: str = Field(pattern=r"^[A-Z]{1,8}$")
    extent: Extent
    offices: Offices
    documents: Documents
    instance: Instance = Instance()
    homestead_caps: Caps | None = None
    _path: str = PrivateAttr(default="")

    @field_validator("province")
    @classmethod
    def _province(cls, v: str) -> str:
        if v not in provinces():
            raise ValueError(
                f"未知省份 {v!r}，应为简称如 湖北、广东 / unknown province {v!r}: a short name such as 湖北"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> CountyProfile:
        code = provinces()[self.province]
        if not self.admin_code.startswith(code):
            raise ValueError(
                f"admin_code {self.admin_code} 不属于{self.province}（应以 {code} 开头）/ admin_code {self.admin_code} "
                f"is not in {self.province}: it must start with {code}"
            )
        no_caps = not any(p == self.province for p, _ in homestead_caps())
        if self.homestead_caps is None and no_caps and self.instance.level == "county":
            raise ValueError(
                f"homestead_caps: gis/data/homestead_caps.csv 中没有{self.province}的宅基地面积标准，请在 "
                f"[homestead_caps] 中给出 cultivated_m2、other_m2 和 basis / no homestead caps for {self.province} "
                "in gis/data/homestead_caps.csv: give [homestead_caps] cultivated_m2, other_m2 and basis"
            )
        return self

    @property
    def path(self) -> str:
        """Return the file the profile was read from."""
        return self._path

    @property
    def instance_name(self) -> str:
        """Return the name written on filing packages and receipts ([instance] name, else the bureau)."""
        return self.instance.name or self.offices.bureau

    def caps(self) -> HomesteadCaps | None:
        """Return the county's own homestead caps for the check, or None when the province's apply."""
        c = self.homestead_caps
        return HomesteadCaps(c.cultivated_m2, c.other_m2, c.basis) if c else None

    def sample_case_number(self) -> str:
        """Return a case number as this county writes them (the portal's placeholder)."""
        return f"{self.case_prefix}-2026-{_SAMPLE_SEQ}"

    def reconsideration(self, lang: str = "zh") -> str:
        """Return the reconsideration clause naming this county's government."""
        text = self.documents.reconsideration_en if lang == "en" else self.documents.reconsideration
        return text.format(government=self.offices.government)


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_profile(text: str, source: str) -> CountyProfile:
    """Parse and validate a profile's TOML text; ProfileError names the file and each wrong key."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"县域配置文件 {source} 不是有效的TOML / the county profile {source} is not valid TOML: {exc}"
        ) from exc
    try:
        profile = CountyProfile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  键 key `{_where(e['loc'])}`: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise ProfileError(
            f"县域配置文件 {source} 有误 / the county profile {source} has errors:\n" + "\n".join(lines)
        ) from None
    profile._path = source
    return profile


@cache
def _read(path: Path, mtime_ns: int) -> CountyProfile:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"无法读取县域配置文件 {path} / cannot read the county profile {path}: {exc}") from exc
    return parse_profile(text, str(path))


def load_profile(path: Path | None = None) -> CountyProfile:
    """Return the profile at `path` (the shipped Xian'an profile when None), validated once per file version."""
    path = (path or DEFAULT_PROFILE).expanduser()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ProfileError(
            f"县域配置文件 {path} 不存在或无法读取 / the county profile {path} cannot be read: {exc}"
        ) from exc
    return _read(path.resolve(), mtime)


class ExtentUnknown(ValueError):
    """The profile takes its extent from the townships layer, which is not loaded, and gives no box of its own."""


def extent_in_force(profile: CountyProfile, townships_box: tuple[Any, Any, Any, Any] | None) -> CountyExtent:
    """Return the extent applications must lie in: the profile's box, or the townships layer's widened by the margin.

    `townships_box` is the loaded townships layer's (lon_min, lat_min, lon_max, lat_max), or None when it is empty.
    """
    e = profile.extent
    if e.source == "townships" and townships_box is not None and townships_box[0] is not None:
        x0, y0, x1, y1 = (float(v) for v in townships_box)
        m = e.margin_deg
        return CountyExtent(x0 - m, x1 + m, y0 - m, y1 + m)
    box = e.box
    if box is None:
        raise ExtentUnknown(
            "县域范围未知：县域配置取乡镇图层的范围，但乡镇图层尚未导入 / the county extent is unknown: the profile takes "
            "it from the townships layer, which is not loaded yet (landwindow import townships FILE)"
        )
    return box


def profile_rows(profile: CountyProfile, overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Return the profile as (key, value) rows to print; `overrides` names settings that replace a profile value."""
    rows: list[tuple[str, str]] = [("file", profile.path)]
    for key, value in profile.model_dump(exclude_none=True).items():
        if isinstance(value, dict):
            rows += [(f"{key}.{k}", "" if v is None else str(v)) for k, v in value.items()]
        else:
            rows.append((key, "" if value is None else str(value)))
    if profile.homestead_caps is None:
        caps = {t: c for (p, t), c in homestead_caps().items() if p == profile.province}
        rows.append(
            (
                "homestead_caps",
                f"{profile.province} (gis/data/homestead_caps.csv): "
                + ", ".join(f"{t} {c:g} m²" for t, c in sorted(caps.items())),
            )
        )
    for key, value in (overrides or {}).items():
        rows.append((key, f"{value}  (环境变量覆盖 / overridden by the environment)"))
    return rows
