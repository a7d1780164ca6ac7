"""The one result type of every boundary reader, and the issues a reader reports."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from shapely.geometry import MultiPolygon

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class BoundaryIssue:
    """One thing wrong with a boundary file, in Chinese and English, with where it is."""

    code: str
    severity: str
    message_zh: str
    message_en: str
    line: int | None = None
    field: str | None = None
    parcel_no: str | None = None

    def __str__(self) -> str:
        """Return `line N: 中文 / English`, with the field and parcel when known."""
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field}")
        if self.parcel_no:
            where.append(f"parcel {self.parcel_no}")
        prefix = ", ".join(where)
        return (
            f"{prefix}: {self.message_zh} / {self.message_en}" if prefix else f"{self.message_zh} / {self.message_en}"
        )


class BoundaryError(ValueError):
    """The boundary cannot be read; `issues` lists every error found (and the warnings so far)."""

    def __init__(self, issues: Iterable[BoundaryIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues if i.severity == ERROR) or "invalid boundary")

    @property
    def codes(self) -> list[str]:
        """Return the codes of the errors."""
        return [i.code for i in self.issues if i.severity == ERROR]


def error(
    code: str, zh: str, en: str, line: int | None = None, field: str | None = None, parcel_no: str | None = None
) -> BoundaryIssue:
    """Return an error issue."""
    return BoundaryIssue(code, ERROR, zh, en, line, field, parcel_no)


def warning(
    code: str, zh: str, en: str, line: int | None = None, field: str | None = None, parcel_no: str | None = None
) -> BoundaryIssue:
    """Return a warning issue."""
    return BoundaryIssue(code, WARNING, zh, en, line, field, parcel_no)


@dataclass
class BoundaryParcel:
    """One parcel of a boundary with its geometry in storage and survey coordinates and its areas."""

    parcel_no: str
    name: str
    geometry: MultiPolygon
    """EPSG:4490, lon/lat."""
    geometry_gk: MultiPolygon
    """The prefixed 3° Gauss-Krüger zone (EPSG 4488 + zone), metres, x = easting."""
    zone: int
    area_m2: float
    area_ha: float
    area_mu: float
    ellipsoidal_area_m2: float
    declared_area_ha: float | None = None
    declared_points: int | None = None
    landuse_code: str | None = None
    use: str | None = None
    depth_top: float | None = None
    depth_bottom: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    warnings: list[BoundaryIssue] = field(default_factory=list)

    @property
    def area_km2(self) -> float:
        """Return the ellipsoidal area in km² to 4 decimals, as mining rights state it."""
        return round(self.ellipsoidal_area_m2 / 1e6, 4)


@dataclass
class Boundary:
    """What an applicant's file says: parcels, the detected source CRS and zone, header and warnings."""

    parcels: list[BoundaryParcel]
    source_format: str
    source_crs: str
    zone: int
    header: dict[str, Any] = field(default_factory=dict)
    warnings: list[BoundaryIssue] = field(default_factory=list)

    @property
    def area_m2(self) -> float:
        """Return the summed planar area of the parcels."""
        return sum(p.area_m2 for p in self.parcels)

    @property
    def all_warnings(self) -> list[BoundaryIssue]:
        """Return the file's and every parcel's warnings."""
        return [*self.warnings, *(w for p in self.parcels for w in p.warnings)]


@dataclass(frozen=True)
class CountyExtent:
    """The lon/lat box an application must lie in."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float

    def contains(self, lon: float, lat: float) -> bool:
        """Return whether a point lies in the extent."""
        return self.lon_min <= lon <= self.lon_max and self.lat_min <= lat <= self.lat_max


@cache
def county_extent() -> CountyExtent:
    """Return the configured county extent (gis/data/county.toml)."""
    raw = tomllib.loads(resources.files("gis").joinpath("data/county.toml").read_text("utf-8"))
    return CountyExtent(raw["lon_min"], raw["lon_max"], raw["lat_min"], raw["lat_max"])


@cache
def validation_rules() -> dict[str, Any]:
    """Return the validation thresholds (gis/boundary/validation.toml)."""
    return tomllib.loads(resources.files("gis").joinpath("boundary/validation.toml").read_text("utf-8"))
