"""The planner's view: every approved and pending conversion of farmland on one map and in a table, and the audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import folium
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.access.auth import Principal
from service.clocks.calendar import LOCAL_TZ
from service.core.errors import DomainError
from service.http.deps import ReadSessionDep, SettingsDep
from service.reports.conversions import (
    ConversionAudit,
    ConversionFilter,
    ConversionList,
    audit_conversions,
    land_classes,
    list_conversions,
    townships,
)
from service.reports.quotas import ledger, parse_year
from web.i18n import lang_of
from web.map.builder import bounds_of, build_map, popup_layer, render_parts
from web.pages.common import basemap_of, map_layers, page
from web.session import page_permission

router = APIRouter(include_in_schema=False)


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


Planner = Annotated[Principal, page_permission("conversions.read")]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATE_STYLE = {"approved": ("#C8102E", 0.45), "pending": ("#E08A00", 0.35)}


def _parse(
    township: str | None, date_from: str | None, date_to: str | None, land_class: str | None, state: str | None
) -> tuple[ConversionFilter | None, str | None]:
    """Return the filter, or None with what is wrong: a wrong filter lists nothing (never the unfiltered totals)."""
    try:
        return ConversionFilter.parse(township, date_from, date_to, land_class, state), None
    except DomainError as exc:
        return None, exc.message


def _listing(session: Any, f: ConversionFilter | None, user: Principal) -> ConversionList:
    return list_conversions(session, f, user.county) if f is not None else ConversionList(ConversionFilter(), [])


def _conversion_layer(fc: dict[str, Any], zh: bool) -> folium.GeoJson:
    labels = {
        "case_no": ("案件编号", "Case"),
        "state_title": ("状态", "State"),
        "township": ("乡镇", "Township"),
        "agricultural_m2": ("农用地（㎡）", "Farmland (m²)"),
        "cultivated_m2": ("耕地（㎡）", "Cultivated (m²)"),
    }

    def style(f: dict[str, Any]) -> dict[str, Any]:
        color, opacity = STATE_STYLE[f["properties"]["state"]]
        return {"color": color, "weight": 2, "fillColor": color, "fillOpacity": opacity}

    titles = {"approved": ("已批准", "Approved"), "pending": ("在办", "Pending")}
    for feat in fc["features"]:
        feat["properties"]["state_title"] = titles[feat["properties"]["state"]][0 if zh else 1]
    return popup_layer(
        fc, "农用地转用" if zh else "Conversions", {k: v[0 if zh else 1] for k, v in labels.items()}, style
    )


@router.get("/planner", response_class=HTMLResponse)
def planner(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    user: Planner,
    township: str | None = None,
    land_class: str | None = None,
    state: str | None = None,
    year: str | None = None,
) -> Response:
    """Every approved and pending conversion of farmland on the map and in a table, with totals of 农用地 and 耕地,
    and the year's ledgers: the construction-land quota per township and the offset projects (占补平衡)."""
    # the period is ?from=&to= (YYYY-MM-DD), as in the API
    f, error = _parse(township, request.query_params.get("from"), request.query_params.get("to"), land_class, state)
    this_year = datetime.now(LOCAL_TZ).year
    try:
        book = ledger(session, parse_year(year, this_year), user.county)
    except DomainError as exc:
        book, error = ledger(session, this_year, user.county), error or str(exc)
    listing = _listing(session, f, user)
    fc = listing.geojson()
    lang = lang_of(request)
    m = build_map(
        map_layers(lang, staff=True),
        bounds=bounds_of(fc),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        lang=lang,
        overlays=[_conversion_layer(fc, lang == "zh")] if fc["features"] else [],
    )
    return page(
        request,
        "planner.html",
        {
            "nav": "planner",
            "map": render_parts(m),
            "listing": listing,
            "totals": listing.totals(),
            "by_county": listing.totals_by_county(),
            "f": f or _typed(request, township, land_class, state),
            "error": error,
            "townships": townships(session),
            "land_classes": land_classes(),
            "query": urlencode(f.as_query()) if f else "",
            "ledger": book,
            "flags": book.flags_by_case(),
        },
        user=user,
        status=422 if error else 200,
    )


@router.get("/planner/audit", response_class=HTMLResponse)
def planner_audit(
    request: Request, session: ReadSessionDep, user: Planner, township: str | None = None, land_class: str | None = None
) -> Response:
    """The approved conversions re-checked against today's map; the disagreements first, with downloads."""
    f, error = _parse(township, request.query_params.get("from"), request.query_params.get("to"), land_class, None)
    audit = (
        audit_conversions(session, f, user.county) if f is not None else ConversionAudit(ConversionFilter(), [], _now())
    )
    rows = sorted(audit.rows, key=lambda r: not r.disagrees)
    return page(
        request,
        "planner_audit.html",
        {
            "nav": "planner",
            "audit": audit,
            "rows": rows,
            "error": error,
            "query": urlencode(f.as_query()) if f else "",
        },
        user=user,
        status=422 if error else 200,
    )


def _typed(request: Request, township: str | None, land_class: str | None, state: str | None) -> dict[str, Any]:
    """Return the filter as typed (for the form, when it could not be read)."""
    q = request.query_params
    return {
        "township": township,
        "land_class": land_class,
        "state": state,
        "date_from": q.get("from", ""),
        "date_to": q.get("to", ""),
    }


def _export(
    request: Request, session: Any, user: Principal, township: str | None, land_class: str | None, state: str | None
) -> ConversionList:
    f = ConversionFilter.parse(
        township, request.query_params.get("from"), request.query_params.get("to"), land_class, state
    )
    return list_conversions(session, f, user.county)


@router.get("/planner/conversions.csv")
def planner_csv(
    request: Request,
    session: ReadSessionDep,
    user: Planner,
    township: str | None = None,
    land_class: str | None = None,
    state: str | None = None,
) -> Response:
    """The filtered conversions as CSV (UTF-8 with BOM; Beijing times, Chinese kind names)."""
    body = ("\ufeff" + _export(request, session, user, township, land_class, state).csv_text()).encode("utf-8")
    headers = {"Content-Disposition": 'attachment; filename="conversions.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/planner/conversions.xlsx")
def planner_xlsx(
    request: Request,
    session: ReadSessionDep,
    user: Planner,
    township: str | None = None,
    land_class: str | None = None,
    state: str | None = None,
) -> Response:
    """The filtered conversions as an Excel workbook."""
    body = _export(request, session, user, township, land_class, state).xlsx_bytes()
    headers = {"Content-Disposition": 'attachment; filename="conversions.xlsx"'}
    return Response(body, media_type=XLSX, headers=headers)
