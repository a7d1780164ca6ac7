"""The applicant portal: case number and query code → progress, deadline, notice, the plot on the map, rating."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from service.cases.applicants import find_by_query_code, rate
from service.cases.views import public_case
from service.core.errors import DomainError, TooManyAttempts
from service.http.deps import SessionDep, SettingsDep
from service.http.limits import query_code_attempt
from web.i18n import lang_of
from web.map.builder import build_map, render_parts
from web.pages.common import basemap_of, home_bounds, map_layers, page
from web.session import CsrfDep

router = APIRouter(include_in_schema=False)


@router.get("/portal", response_class=HTMLResponse)
def portal_form(request: Request) -> Response:
    """Ask for the case number and the query code on the receipt."""
    return page(request, "portal.html", {"nav": "portal"})


def _show(
    request: Request, session: SessionDep, settings: SettingsDep, case_no: str, query_code: str, **extra: object
) -> Response:
    case = find_by_query_code(session, case_no.strip(), query_code)
    view = public_case(session, case)
    m = build_map(
        map_layers(lang_of(request)),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        boundary=view["boundary"],
        measure=False,
        lang=lang_of(request),
        home=home_bounds(settings),
    )
    return page(
        request,
        "portal_case.html",
        {"v": view, "map": render_parts(m), "nav": "portal", "case_no": case_no, "query_code": query_code, **extra},
    )


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
        return page(request, "portal.html", {"nav": "portal", "error": exc.message, "case_no": case_no}, status=404)


def _too_many(request: Request, case_no: str, exc: TooManyAttempts) -> Response:
    response = page(request, "portal.html", {"nav": "portal", "error": exc.message, "case_no": case_no}, status=429)
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
    try:
        with query_code_attempt(request, case_no):
            rate(session, case_no, query_code, stars, comment)
        session.commit()
        return _show(request, session, settings, case_no, query_code, flash="感谢您的评价 / thank you for rating")
    except TooManyAttempts as exc:
        return _too_many(request, case_no, exc)
    except DomainError as exc:
        session.rollback()
        return _show(request, session, settings, case_no, query_code, flash=exc.message, flash_kind="error")
