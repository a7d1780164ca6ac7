"""Staff pages: the monthly statistics with downloads, and the month's satisfaction callbacks (万人评窗口)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access.auth import Principal
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import DomainError, InvalidInput
from service.http.deps import ReadSessionDep, SessionDep
from service.reports import callbacks
from service.reports.statistics import COLUMNS, CONVERSION_COLUMNS, Month, monthly_statistics
from web.pages.common import page
from web.session import CsrfDep, page_permission

router = APIRouter(include_in_schema=False)
Statistician = Annotated[Principal, page_permission("statistics.read")]
CallbackManager = Annotated[Principal, page_permission("callbacks.manage")]


def _month(value: str | None, default: Month) -> Month:
    try:
        return Month.parse(value) if value else default
    except DomainError:
        return default


@router.get("/reports/monthly", response_class=HTMLResponse)
def monthly(request: Request, session: ReadSessionDep, user: Statistician, month: str | None = None) -> Response:
    """The month's figures per kind and clerk, the converted area by township, and CSV / XLSX downloads."""
    m = _month(month, Month.of(datetime.now(LOCAL_TZ)))
    stats = monthly_statistics(session, m)
    return page(
        request,
        "reports_monthly.html",
        {
            "nav": "reports",
            "stats": stats,
            "month": m,
            "columns": COLUMNS,
            "conversion_columns": CONVERSION_COLUMNS,
            "previous": m.previous(),
            "next": m.next(),
            "current": m.start <= datetime.now(LOCAL_TZ) < m.end,
        },
        user=user,
    )


def _callbacks_page(
    request: Request, session: SessionDep, user: Principal, m: Month, status: int = 200, **extra: object
) -> Response:
    drawn = callbacks.get_draw(session, m)
    view = callbacks.draw_view(drawn, m, full_phones=True)
    if drawn is not None:
        audit(
            session, user.actor, "callback.view_personal", None, None, {"month": str(m), "cases": len(view["entries"])}
        )
    return page(
        request,
        "callbacks.html",
        {
            "nav": "callbacks",
            "v": view,
            "month": m,
            "outcomes": callbacks.outcomes(),
            "default_size": callbacks.default_size(),
            "previous": m.previous(),
            "next": m.next(),
            "ended": m.end <= datetime.now(LOCAL_TZ),
            **extra,
        },
        user=user,
        status=status,
    )


@router.get("/callbacks", response_class=HTMLResponse)
def callback_list(request: Request, session: SessionDep, user: CallbackManager, month: str | None = None) -> Response:
    """The month's callback sample with the applicants' phones, and a form per case to record the outcome."""
    return _callbacks_page(request, session, user, _month(month, Month.of(datetime.now(LOCAL_TZ)).previous()))


@router.post("/callbacks/draw", response_class=HTMLResponse)
def callback_draw(
    request: Request,
    session: SessionDep,
    user: CallbackManager,
    _csrf: CsrfDep,
    month: Annotated[str, Form(max_length=7)],
    size: Annotated[int | None, Form()] = None,
    seed: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Draw the month's sample and show it."""
    m = _month(month, Month.of(datetime.now(LOCAL_TZ)).previous())
    try:
        if seed.strip() and not seed.strip().isdigit():
            raise InvalidInput(
                f"随机种子应为非负整数（收到 {seed!r}）/ the seed must be a non-negative integer (got {seed!r})"
            )
        callbacks.draw(session, Month.parse(month), size, int(seed) if seed.strip() else None, by=user)
    except DomainError as exc:
        session.rollback()
        return _callbacks_page(request, session, user, m, status=422, flash=exc.message, flash_kind="error")
    return RedirectResponse(f"/callbacks?month={m}", status_code=303)


@router.post("/callbacks/record", response_class=HTMLResponse)
def callback_record(
    request: Request,
    session: SessionDep,
    user: CallbackManager,
    _csrf: CsrfDep,
    month: Annotated[str, Form(max_length=7)],
    case_no: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record the outcome of one sampled case's callback, then show the list again."""
    m = _month(month, Month.of(datetime.now(LOCAL_TZ)).previous())
    try:
        callbacks.record(session, case_no, outcome, note or None, by=user)
    except DomainError as exc:
        session.rollback()
        return _callbacks_page(request, session, user, m, status=422, flash=exc.message, flash_kind="error")
    return RedirectResponse(f"/callbacks?month={m}#{case_no}", status_code=303)
