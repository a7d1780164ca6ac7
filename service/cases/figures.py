"""The figures a clerk reads out from a case's check: 农用地 and 耕地, who owns the land under the boundary, and the
compensation estimate without the state-owned land (which is not requisitioned: it is shown apart)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.catalog import catalog
from gis.crs import epsg_3deg, m2_to_mu
from gis.landuse import AGRICULTURAL
from service.core.tables import read_table

CULTIVATED = "耕地"


@cache
def rules() -> dict[str, Any]:
    """Return the owner kinds and what the compensation estimate leaves out (service/data/figures.toml)."""
    return read_table("figures.toml")


def owner_kind_title(kind: str | None, lang: str = "zh") -> str:
    """Return an owner kind's title (集体 / 国有 / 个人) in the language; the code itself when unknown."""
    titles = rules()["owner_kinds"].get(kind or "", {})
    return str(titles.get(lang) or titles.get("zh") or kind or "—")


def _state_owned_by_zone(session: Session, case_id: int, zone: int) -> dict[str, float]:
    """Return m² of state-owned parcels under the case's boundary per price zone, planar in the GK zone."""
    layers = catalog()
    if "parcels" not in layers or "land_price_zones" not in layers:
        return {}
    kinds = list(rules()["compensation"]["not_compensated"])
    sql = text(f"""
        WITH b AS (SELECT geom AS g FROM cases WHERE id = :case_id AND geom IS NOT NULL),
        s AS (
            SELECT ST_Union(ST_Intersection(p.geom, b.g)) AS g FROM {layers["parcels"].table.name} p, b
            WHERE p.geom && b.g AND ST_Intersects(p.geom, b.g) AND p.owner_kind = ANY(:kinds)
        )
        SELECT z.zone_no, ST_Area(ST_Transform(ST_Intersection(z.geom, s.g), :srid))
        FROM {layers["land_price_zones"].table.name} z, s
        WHERE s.g IS NOT NULL AND z.geom && s.g AND ST_Intersects(z.geom, s.g)
    """)
    rows = session.execute(sql, {"case_id": case_id, "kinds": kinds, "srid": epsg_3deg(zone)})
    out: dict[str, float] = {}
    for zone_no, m2 in rows:
        out[str(zone_no)] = out.get(str(zone_no), 0.0) + float(m2 or 0.0)
    return out


def case_figures(session: Session, case_id: int, report: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the figures of a case's stored check: 农用地/耕地 (m², mu), owners grouped by kind, and the
    compensation estimate with the state-owned land left out and shown apart. None without a check."""
    if report is None:
        return None
    cats = report.get("categories") or {}
    agricultural, cultivated = float(cats.get(AGRICULTURAL, 0.0)), float(cats.get(CULTIVATED, 0.0))
    kinds = rules()["compensation"]["not_compensated"]
    owners = [
        {
            "owner": o["owner"],
            "owner_kind": o.get("owner_kind"),
            "area_m2": o["area_m2"],
            "area_mu": o["area_mu"],
            "parcels": [p.get("parcel_no") for p in o.get("parcels", []) if p.get("parcel_no")],
            "compensated": o.get("owner_kind") not in kinds,
        }
        for o in report.get("owners") or []
    ]
    compensation = None
    comp = report.get("compensation")
    if comp and comp.get("zones"):
        state = _state_owned_by_zone(session, case_id, int(report["zone"]))
        zones = []
        for z in comp["zones"]:
            apart = min(state.get(str(z["zone_no"]), 0.0), float(z["area_m2"]))
            m2 = float(z["area_m2"]) - apart
            mu = m2_to_mu(m2)
            share = m2 / float(z["area_m2"]) if z["area_m2"] else 0.0
            zones.append(
                {
                    "zone_no": z["zone_no"],
                    "price_per_mu": z["price_per_mu"],
                    "area_m2": m2,
                    "area_mu": mu,
                    "amount": mu * float(z["price_per_mu"]),
                    "land_compensation": float(z.get("land_compensation", 0.0)) * share,
                    "resettlement": float(z.get("resettlement", 0.0)) * share,
                    "state_m2": apart,
                }
            )
        state_m2 = sum(z["state_m2"] for z in zones)
        compensation = {
            "zones": zones,
            "total": sum(z["amount"] for z in zones),
            "land_compensation": sum(z["land_compensation"] for z in zones),
            "resettlement": sum(z["resettlement"] for z in zones),
            "area_m2": sum(z["area_m2"] for z in zones),
            "area_mu": m2_to_mu(sum(z["area_m2"] for z in zones)),
            "state_m2": state_m2,
            "state_mu": m2_to_mu(state_m2),
        }
    return {
        "agricultural_m2": agricultural,
        "agricultural_mu": m2_to_mu(agricultural),
        "cultivated_m2": cultivated,
        "cultivated_mu": m2_to_mu(cultivated),
        "owners": owners,
        "compensation": compensation,
    }
