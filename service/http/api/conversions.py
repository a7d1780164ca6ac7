"""Conversions of farmland for planners: the approved and pending ones, and the audit against today's map.

Planners, leaders and administrators only. Downloads: the audit as CSV (UTF-8 with BOM) and as GeoPackage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from service.access.auth import Principal
from service.clocks.calendar import LOCAL_TZ
from service.http.deps import ReadSessionDep, permission
from service.reports import quotas
from service.reports.conversions import ConversionAudit, ConversionFilter, audit_conversions, list_conversions

router = APIRouter(prefix="/api/v1/conversions", tags=["conversions"])

GPKG = "application/geopackage+sqlite3"
Planner = Annotated[Principal, permission("conversions.read")]


Township = Annotated[str | None, Query(max_length=100, description="乡镇 township (as on the case)")]
From = Annotated[
    str | None,
    Query(alias="from", max_length=10, description="YYYY-MM-DD: approved (or, pending, received) on or after"),
]
To = Annotated[str | None, Query(alias="to", max_length=10, description="YYYY-MM-DD: on or before")]
LandClass = Annotated[str | None, Query(max_length=10, description="GB/T 21010 code (01, 0101) or category (农用地)")]
State = Annotated[str | None, Query(max_length=10, description="approved or pending")]


@router.get("", summary="Approved and pending conversions of farmland with totals of 农用地 and 耕地")
def conversions(
    session: ReadSessionDep,
    principal: Planner,
    township: Township = None,
    date_from: From = None,
    date_to: To = None,
    land_class: LandClass = None,
    state: State = None,
) -> dict[str, Any]:
    """Return the filtered conversions from the stored check reports."""
    f = ConversionFilter.parse(township, date_from, date_to, land_class, state)
    return list_conversions(session, f, principal.county).to_dict()


def _audit(
    session: ReadSessionDep,
    principal: Principal,
    township: str | None,
    date_from: str | None,
    date_to: str | None,
    land_class: str | None,
) -> ConversionAudit:
    return audit_conversions(
        session, ConversionFilter.parse(township, date_from, date_to, land_class), principal.county
    )


@router.get("/audit", summary="Every approved conversion re-checked against today's map; the disagreements flagged")
def audit(
    session: ReadSessionDep,
    principal: Planner,
    township: Township = None,
    date_from: From = None,
    date_to: To = None,
    land_class: LandClass = None,
) -> dict[str, Any]:
    """Return the audit as JSON."""
    return _audit(session, principal, township, date_from, date_to, land_class).to_dict()


@router.get("/audit.csv", summary="The conversion audit as CSV (UTF-8 with BOM)")
def audit_csv(
    session: ReadSessionDep,
    principal: Planner,
    township: Township = None,
    date_from: From = None,
    date_to: To = None,
    land_class: LandClass = None,
) -> Response:
    """Return the audit as a CSV download."""
    body = ("\ufeff" + _audit(session, principal, township, date_from, date_to, land_class).csv_text()).encode("utf-8")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversion-audit.csv"'},
    )


@router.get("/audit.gpkg", summary="The conversion audit as GeoPackage (boundaries with the audit's attributes)")
def audit_gpkg(
    session: ReadSessionDep,
    principal: Planner,
    township: Township = None,
    date_from: From = None,
    date_to: To = None,
    land_class: LandClass = None,
) -> Response:
    """Return the audit as a GeoPackage download."""
    body = _audit(session, principal, township, date_from, date_to, land_class).gpkg_bytes()
    return Response(
        body, media_type=GPKG, headers={"Content-Disposition": 'attachment; filename="conversion-audit.gpkg"'}
    )


@router.get("/ledger", summary="A year's quota ledger: quotas per township, offset projects, flagged conversions")
def quota_ledger(
    session: ReadSessionDep,
    principal: Planner,
    year: Annotated[str | None, Query(max_length=4, description="YYYY (default: this year)")] = None,
) -> dict[str, Any]:
    """Return the year's construction-land quota per township with what approved conversions used, every offset
    project with what it offset, and the conversions approved without quota or without offset."""
    return quotas.ledger(session, quotas.parse_year(year, datetime.now(LOCAL_TZ).year), principal.county).to_dict()
