"""The result of a one-map check: per-rule findings, land-use breakdown and the figures the forms need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeatureHit:
    """One feature of a layer under the boundary, with the overlap area."""

    id: int | str
    overlap_m2: float
    attrs: dict[str, Any]


@dataclass
class RuleResult:
    """The outcome of one rule."""

    rule: str
    title: str
    layer: str
    layer_version: int
    status: str
    overlap_m2: float
    overlap_mu: float
    message: str
    message_en: str
    basis: str
    features: list[FeatureHit] = field(default_factory=list)
    geometry: dict[str, Any] | None = None
    """The overlapping part (GeoJSON, EPSG:4490 lon/lat), for the map."""


@dataclass
class LandUseArea:
    """Area of one GB/T 21010 class under the boundary."""

    code: str
    name: str
    category: str
    cultivated: bool
    area_m2: float
    area_mu: float


@dataclass
class OwnerArea:
    """Area of one owner's land under the boundary, with the registered parcels."""

    owner: str
    owner_kind: str | None
    area_m2: float
    area_mu: float
    parcels: list[dict[str, Any]]


@dataclass
class CompensationZone:
    """The compensation estimate in one 区片综合地价 zone."""

    zone_no: str
    price_per_mu: float
    area_m2: float
    area_mu: float
    amount: float
    land_compensation: float
    resettlement: float


@dataclass
class CheckReport:
    """Everything the map says about one boundary for one kind of application."""

    kind: str
    verdict: str
    area_m2: float
    area_mu: float
    area_ha: float
    zone: int
    rules: list[RuleResult]
    landuse: list[LandUseArea]
    categories: dict[str, float]
    """m² per legal category (农用地, 建设用地, 未利用地, unknown) plus 耕地."""
    layer_versions: dict[str, int]
    approval_level: dict[str, Any] | None = None
    owners: list[OwnerArea] | None = None
    compensation: dict[str, Any] | None = None
    homestead: dict[str, Any] | None = None

    def rule(self, rule_id: str) -> RuleResult:
        """Return the result of one rule by id."""
        for r in self.rules:
            if r.rule == rule_id:
                return r
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form of the report (built shallowly: asdict would deep-copy every attribute)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("rules", "landuse", "owners", "compensation")}
        out["rules"] = [
            {
                **{k: v for k, v in r.__dict__.items() if k != "features"},
                "features": [{"id": f.id, "overlap_m2": f.overlap_m2, "attrs": f.attrs} for f in r.features],
            }
            for r in self.rules
        ]
        out["landuse"] = [dict(a.__dict__) for a in self.landuse]
        out["owners"] = None if self.owners is None else [dict(o.__dict__) for o in self.owners]
        if self.compensation is not None:
            out["compensation"] = {**self.compensation, "zones": [dict(z.__dict__) for z in self.compensation["zones"]]}
        else:
            out["compensation"] = None
        return out
