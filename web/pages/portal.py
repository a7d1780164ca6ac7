"""The applicant portal: case number and query code → progress, deadline, the notice while it asks for something,
the plot on the map with the conflicts in plain words, the decision with its reason, documents and appeal routes,
the rating. Numbers and codes are read as typed on a phone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from shapely.geometry import shape

from service.cases.applicants import applicant_case, applicant_document, find_by_query_code, rate
from service.cases.boundaries import county_extent
from service.cases.lookup import normal_case_no, normal_query_code
from service.cases.online import send_supplement
from service.core.errors import DomainError, TooManyAttempts
from service.http.deps import SessionDep, SettingsDep
from service.http.errors import status_for
from service.http.limits import online_attempt, query_code_attempt
from service.http.sent_files import material_fields, sent_boundary, sent_materials
from web.i18n import lang_of, translator
from web.map.builder import build_map, render_parts
from web.pages.common import basemap_of, home_bounds, map_layers, page
from web.pages.documents import render_document
from web.session import CsrfDep

router = APIRouter(include_in_schema=False)


@router.get("/portal", response_class=HTMLResponse)
def portal_form(request: Request) -> Response:
    """Ask for the case number and the query code on the receipt."""
    return page(request, "portal.html", {"nav": "portal"})


def _conflicts(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the findings with a geometry as the map's conflict layer (warnings below blocks)."""
    feats = [
        {
            "type": "Feature",
            "geometry": f["geometry"],
            "properties": {"title": f["title"], "status": f["status"], "message": f["message"]},
        }
        for f in sorted(findings, key=lambda f: f["status"] == "block")
        if f.get("geometry")
    ]
    return {"type": "FeatureCollection", "features": feats}


def _plot_frame(boundary: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    """Return the map's frame on a plot: the plot in the middle with as much around it again on each side (a phone's
    map shows a 12 m homestead large enough to see, not lost in 100 m of fields)."""
    if not boundary:
        return None
    x0, y0, x1, y1 = shape(boundary).bounds
    pad = max(x1 - x0, y1 - y0, 0.0001) * 0.8
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _show(
    request: Request, session: SessionDep, settings: SettingsDep, case_no: str, query_code: str, **extra: object
) -> Response:
    case = find_by_query_code(session, case_no, query_code)
    view = applicant_case(session, case)
    lang = lang_of(request)
    m = build_map(
        map_layers(lang),
        bounds=_plot_frame(view["boundary"]),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        boundary=view["boundary"],
        conflicts=_conflicts(view["findings"]),
        measure=False,
        lang=lang,
        home=home_bounds(settings),
    )
    context = {
        "v": view,
        "map": render_parts(m),
        "nav": "portal",
        "case_no": case.case_no,
        "query_code": normal_query_code(query_code),
        **extra,
    }
    return page(request, "portal_case.html", context)


@router.post("/portal", response_class=HTMLResponse)
def portal_case(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    case_no: Annotated[str, Form(max_length=40)],
    query_code: Annotated[str, Form(max_length=32)],
) -> Response:
    """Show the applicant their own case; a wrong number or code gets the same answer either way (429 after too many)."""
    try:
        with query_code_attempt(request, case_no):
            return _show(request, session, settings, case_no, query_code)
    except TooManyAttempts as exc:
        return _too_many(request, case_no, exc)
    except DomainError as exc:
        context = {"nav": "portal", "error": exc.message, "case_no": normal_case_no(case_no)}
        return page(request, "portal.html", context, status=404)


def _too_many(request: Request, case_no: str, exc: TooManyAttempts) -> Response:
    context = {"nav": "portal", "error": exc.message, "case_no": normal_case_no(case_no)}
    response = page(request, "portal.html", context, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/portal/rate", response_class=HTMLResponse)
def portal_rate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    case_no: Annotated[str, Form(max_length=40)],
    query_code: Annotated[str, Form(max_length=32)],
    stars: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Record the applicant's rating of a decided case, then show the case again."""
    t = translator(lang_of(request))
    try:
        with query_code_attempt(request, case_no):
            rate(session, case_no, query_code, stars, comment)
        session.commit()
        return _show(request, session, settings, case_no, query_code, flash=t("portal_thanks"))
    except TooManyAttempts as exc:
        return _too_many(request, case_no, exc)
    except DomainError as exc:
        session.rollback()
        return _show(request, session, settings, case_no, query_code, flash=exc.message, flash_kind="error")


@router.post("/portal/document")
def portal_document(
    request: Request,
    session: SessionDep,
    _csrf: CsrfDep,
    case_no: Annotated[str, Form(max_length=40)],
    query_code: Annotated[str, Form(max_length=32)],
    document: Annotated[str, Form(max_length=20)],
) -> Response:
    """The applicant's decision or homestead certificate as a PDF (the query code posted, never in a URL)."""
    try:
        with query_code_attempt(request, case_no):
            case, facts = applicant_document(session, case_no, query_code, document)
    except TooManyAttempts as exc:
        return _too_many(request, case_no, exc)
    except DomainError as exc:
        session.rollback()
        context = {"nav": "portal", "error": exc.message, "case_no": normal_case_no(case_no)}
        return page(request, "portal.html", context, status=status_for(exc))
    return render_document(request, document, case, facts, pdf=True, download=True)


@router.post("/portal/supplement", response_class=HTMLResponse)
def portal_supplement(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    case_no: Annotated[str, Form(max_length=40)],
    query_code: Annotated[str, Form(max_length=32)],
    materials: Annotated[list[tuple[str, UploadFile]], Depends(material_fields)],
    boundary_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Answer the one-time notice online: the missing materials and a corrected boundary, for the clerk to confirm."""
    t = translator(lang_of(request))
    try:
        online_attempt(request, "online:check")
        with query_code_attempt(request, case_no):
            find_by_query_code(session, case_no, query_code)
        boundary = sent_boundary(boundary_file, None, settings, county_extent(session), required=False)
        send_supplement(
            session, case_no, query_code, sent_materials([f for _, f in materials], [c for c, _ in materials]), boundary
        )
        session.commit()
        return _show(request, session, settings, case_no, query_code, flash=t("portal_supplement_sent"))
    except TooManyAttempts as exc:
        session.rollback()
        return _too_many(request, case_no, exc)
    except DomainError as exc:
        session.rollback()
        try:
            response = _show(request, session, settings, case_no, query_code, flash=exc.message, flash_kind="error")
        except DomainError:  # a wrong number or code: the same answer as the look-up's
            context = {"nav": "portal", "error": exc.message, "case_no": normal_case_no(case_no)}
            return page(request, "portal.html", context, status=404)
        response.status_code = status_for(exc)
        return response
