"""The case page: its map, check report, review opinions, materials, timeline and the actions the user's role allows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access import permissions
from service.access.auth import Principal
from service.cases import mining_rights, records, sitevisits
from service.cases.boundaries import county_extent
from service.cases.checking import latest_check
from service.cases.documents import available
from service.cases.notices import one_time_notice
from service.cases.review import complete_task
from service.cases.transitions import transition
from service.cases.views import case_detail, timeline
from service.cases.workflow import IN_REVIEW
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import DomainError, InvalidInput
from service.core.models import Case
from service.http.deps import SessionDep, SettingsDep, signer_for
from service.http.errors import status_for
from service.http.uploads import visit_uploads
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
    allowed = {a["name"] for a in detail["allowed_transitions"]}
    due = sitevisits.next_step(case)
    as_built = sitevisits.as_built_map(session, case) if case.kind == "homestead" else None
    context = {
        "c": detail,
        "report": run.report if run else None,
        "timeline": steps,
        "query_code": code,
        "map": case_map(request, settings, detail["boundary"], run.report if run else None, as_built=as_built),
        "visits": [sitevisits.visit_view(v) for v in sitevisits.visits(session, case)],
        "visit_due": due,
        "may_visit": due is not None and due.transition in allowed,
        "photo_limits": sitevisits.table()["photos"],
        "today": records.now().astimezone(LOCAL_TZ).date().isoformat(),
        "right": mining_rights.right_view(session, case) if case.kind == "mining" else None,
        "right_actions": [(a, n) for a, n in mining_rights.TRANSITIONS.items() if n in allowed],
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


@router.post("/cases/{case_id}/visits", response_class=HTMLResponse)
def case_visit(
    _csrf: CsrfDep,
    case: ReadCase,
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Annotated[int, Form()],
    step: Annotated[str, Form(max_length=40)],
    visited_on: Annotated[str, Form(max_length=10)],
    inspector: Annotated[str, Form(max_length=200)] = "",
    findings: Annotated[str, Form(max_length=4000)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
    as_built: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record a site visit from the case page (photos and, at completion, the as-built footprint)."""
    try:
        try:
            day = date.fromisoformat(visited_on)
        except ValueError:
            raise InvalidInput(
                f"核查日期应为 YYYY-MM-DD（收到 {visited_on!r}）/ the visit's date must be YYYY-MM-DD"
            ) from None
        read, footprint = visit_uploads(photos or [], as_built, settings, county_extent(session))
        visit = sitevisits.VisitInput(step, day, inspector, findings, read, footprint)
        sitevisits.record_visit(session, user, case.id, version, visit)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return RedirectResponse(f"/cases/{case.id}#site-visits", status_code=303)


def _number(value: str, name: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{name} 应为数字（收到 {value!r}）/ {name} must be a number (got {value!r})") from None


@router.post("/cases/{case_id}/mining-right", response_class=HTMLResponse)
def case_mining_right(
    _csrf: CsrfDep,
    case: ReadCase,
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Annotated[int, Form()],
    action: Annotated[str, Form(max_length=20)],
    valid_to: Annotated[str, Form(max_length=10)] = "",
    holder: Annotated[str, Form(max_length=200)] = "",
    mineral: Annotated[str, Form(max_length=50)] = "",
    depth_top: Annotated[str, Form(max_length=20)] = "",
    depth_bottom: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Renew, change, transfer or cancel the case's mining right from the case page."""
    try:
        if action not in mining_rights.TRANSITIONS:
            raise InvalidInput(f"未知的采矿权事项 {action!r} / unknown mining-right action {action!r}")
        try:
            until = date.fromisoformat(valid_to) if valid_to.strip() else None
        except ValueError:
            raise InvalidInput(f"有效期止应为 YYYY-MM-DD（收到 {valid_to!r}）/ valid_to must be YYYY-MM-DD") from None
        change = mining_rights.RightChange(
            until,
            holder or None,
            mineral or None,
            _number(depth_top, "depth_top"),
            _number(depth_bottom, "depth_bottom"),
        )
        transition(session, user, case.id, mining_rights.TRANSITIONS[action], version, reason or None, details=change)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return RedirectResponse(f"/cases/{case.id}#mining-right", status_code=303)


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
