"""The case page: its map, check report, review opinions, materials, timeline and the actions the user's role allows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access import permissions
from service.access.auth import Principal
from service.cases.checking import latest_check
from service.cases.documents import available
from service.cases.notices import one_time_notice
from service.cases.review import complete_task
from service.cases.transitions import transition
from service.cases.views import case_detail, timeline
from service.cases.workflow import IN_REVIEW
from service.core.audit import audit
from service.core.errors import DomainError
from service.core.models import Case
from service.http.deps import SessionDep, SettingsDep, signer_for
from service.http.errors import status_for
from web.pages.common import page
from web.pages.intake import RECEIPT_COOKIE
from web.pages.mapviews import case_map
from web.session import CsrfDep, page_case, page_permission

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_permission("case.read")]
ReadCase = Annotated[Case, page_case("case.read")]

READ_ACTIONS = ("case.view_personal", "notice.view", "document.view", "boundary.export", "filing.export")
"""Audit actions that only record a reading of the case; the case page's timeline leaves them out."""


def _case_page(
    request: Request,
    session: Any,
    user: Principal,
    settings: Any,
    case: Case,
    code: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    detail = case_detail(session, case, user.role)
    run = latest_check(session, case)
    audit(session, user.actor, "case.view_personal", case.id, None, None)
    reviewing = case.status == IN_REVIEW and user.department and permissions.allows(user, "case.review")
    my_task = next(
        (t for t in detail["tasks"] if reviewing and t["status"] != "done" and t["department"] == user.department), None
    )
    steps = [e for e in timeline(session, case) if e["action"] not in READ_ACTIONS]
    context = {
        "c": detail,
        "report": run.report if run else None,
        "timeline": steps,
        "query_code": code,
        "map": case_map(request, settings, detail["boundary"], run.report if run else None),
        "nav": "workbench",
        "my_task": my_task,
        "error": error,
        "documents": available(case),
        "may_issue_notice": permissions.allows(user, "case.notice"),
    }
    return page(request, "case.html", context, user=user, status=status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case: ReadCase, request: Request, session: SessionDep, user: Reader, settings: SettingsDep) -> Response:
    """The case with its map, check report, review opinions, materials, timeline and the user's actions."""
    code = signer_for(request).open_receipt(request.cookies.get(RECEIPT_COOKIE), case.id)
    return _case_page(request, session, user, settings, case, code)


def _refused(request: Request, session: Any, user: Principal, settings: Any, case: Case, exc: DomainError) -> Response:
    """Show the case page again with what went wrong, under the error's status (409 stale or illegal, 422, 403)."""
    session.rollback()
    fresh = permissions.visible_case(session, user, case.id)
    return _case_page(request, session, user, settings, fresh, error=exc.message, status=status_for(exc))


@router.post("/cases/{case_id}/act", response_class=HTMLResponse)
def case_action(
    _csrf: CsrfDep,
    case: ReadCase,
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    transition_name: Annotated[str, Form(alias="transition")],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Take a transition from the case page (a leader's decision among them)."""
    try:
        transition(session, user, case.id, transition_name, version, reason or None)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.post("/cases/{case_id}/tasks/{task_id}", response_class=HTMLResponse)
def case_review(
    _csrf: CsrfDep,
    case: ReadCase,
    task_id: int,
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Annotated[int, Form()],
    result: Annotated[str, Form(max_length=20)] = "",
    opinion: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record the reviewer's department opinion (agree / disagree with the text); the last one moves the case on."""
    try:
        complete_task(session, user, case.id, task_id, version, result, opinion)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.post("/cases/{case_id}/notice")
def case_notice(
    _csrf: CsrfDep, case: ReadCase, request: Request, session: SessionDep, user: Reader, settings: SettingsDep
) -> Response:
    """Issue the one-time notice and open its print view."""
    try:
        one_time_notice(session, user, case.id)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return RedirectResponse(f"/cases/{case.id}/notice", status_code=303)
