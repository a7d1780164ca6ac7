"""The case page: its map, check report and figures, review opinions, the paperwork (applicant, materials, boundary)
while it may still change, the leader's decision and exception, documents, timeline — what the user's role allows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access import permissions
from service.access.auth import Principal
from service.cases import mining_rights, records, sitevisits
from service.cases.announcements import answer
from service.cases.applicants import reissue_query_code
from service.cases.boundaries import (
    BoundaryInput,
    boundary_from_geojson,
    boundary_from_upload,
    county_extent,
    set_boundary,
)
from service.cases.checking import latest_check
from service.cases.documents import available
from service.cases.intake import APPLICANT_FIELDS, APPLICANT_TYPES, set_materials, update_applicant
from service.cases.notices import latest_notice, one_time_notice
from service.cases.online import confirm_supplement, return_supplement
from service.cases.review import complete_task, override_block
from service.cases.transitions import allowed_transitions, transition
from service.cases.uploads import case_upload
from service.cases.views import case_detail, timeline
from service.cases.workflow import IN_REVIEW, workflow
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import Conflict, DomainError, InvalidInput
from service.core.models import Case
from service.http.deps import MAX_ID, SessionDep, SettingsDep, signer_for
from service.http.errors import status_for
from service.http.sent_files import download
from service.http.uploads import visit_uploads
from web.pages.common import page
from web.pages.intake import KIND_FIELDS, RECEIPT_COOKIE
from web.pages.mapviews import case_map
from web.session import CsrfDep, page_case, page_permission

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_permission("case.read")]
ReadCase = Annotated[Case, page_case("case.read")]
Version = Annotated[int, Form(ge=1, le=2**31 - 1)]

READ_ACTIONS = (
    "case.view_personal",
    "upload.view",
    "notice.view",
    "document.view",
    "boundary.export",
    "filing.export",
    "filing.read",
)
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
    flash: str | None = None,
    confirm: str | None = None,
    just_created: bool = False,
) -> Response:
    detail = case_detail(session, case, user.role)
    run = latest_check(session, case)
    audit(session, user.actor, "case.view_personal", case.id, None, None)
    reviewing = case.status == IN_REVIEW and user.department and permissions.allows(user, "case.review")
    my_task = next(
        (t for t in detail["tasks"] if reviewing and t["status"] != "done" and t["department"] == user.department), None
    )
    steps = [e for e in timeline(session, case) if e["action"] not in READ_ACTIONS]
    editable = detail["editable"]
    may_draw = editable and permissions.allows(user, "case.boundary")
    allowed = {a["name"] for a in detail["allowed_transitions"]}
    due = sitevisits.next_step(case)
    as_built = sitevisits.as_built_map(session, case) if case.kind == "homestead" else None
    context = {
        "c": detail,
        "report": run.report if run else None,
        "timeline": steps,
        "query_code": code,
        "just_created": just_created,
        "map": case_map(
            request, settings, detail["boundary"], run.report if run else None, draw=may_draw, as_built=as_built
        ),
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
        "flash": flash,
        "confirm": confirm,
        "documents": available(case),
        "notice_issued": latest_notice(session, case) is not None,
        "may_issue_notice": permissions.allows(user, "case.notice"),
        "may_edit_applicant": editable and permissions.allows(user, "case.applicant"),
        "may_edit_materials": editable and permissions.allows(user, "case.materials"),
        "may_edit_boundary": may_draw,
        "may_override": (
            permissions.allows(user, "case.override")
            and run is not None
            and run.verdict == "block"
            and not case.check_override
            and case.status in workflow().open_states
        ),
        "may_reissue_code": permissions.allows(user, "case.query_code"),
        "disagreements": [t for t in detail["tasks"] if t["result"] == "disagree"],
        "kind_fields": {k: " ".join(v) for k, v in KIND_FIELDS.items()},
        "applicant_types": APPLICANT_TYPES,
        "may_confirm_supplement": permissions.allows(user, "case.supplement")
        and any(u["purpose"] == "supplement" and u["status"] == "received" for u in detail["uploads"]),
        "may_answer": permissions.allows(user, "case.responses"),
    }
    return page(request, "case.html", context, user=user, status=status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case: ReadCase, request: Request, session: SessionDep, user: Reader, settings: SettingsDep, already: int = 0
) -> Response:
    """The case with its map, check report, review opinions, materials, timeline and the user's actions."""
    code = signer_for(request).open_receipt(request.cookies.get(RECEIPT_COOKIE), case.id)
    flash = "intake_already" if already else None
    return _case_page(request, session, user, settings, case, code, flash=flash, just_created=code is not None)


def _refused(
    request: Request, session: Any, user: Principal, settings: Any, case: Case, exc: DomainError, **kw: Any
) -> Response:
    """Show the case page again with what went wrong, under the error's status (409 stale or illegal, 422, 403)."""
    session.rollback()
    fresh = permissions.visible_case(session, user, case.id)
    return _case_page(request, session, user, settings, fresh, error=exc.message, status=status_for(exc), **kw)


def _back(case: Case, anchor: str = "") -> Response:
    return RedirectResponse(f"/cases/{case.id}{anchor}", status_code=303)


def _deciding_without_agreement(case: Case, name: str, user: Principal) -> list[str]:
    """Return the departments that disagreed, when `name` decides the case in the applicant's favour (a deciding
    transition that needs no reason: 批准) and the user may take it; such a decision is confirmed first."""
    t = next((t for t in allowed_transitions(case, user.role) if t.name == name), None)
    if t is None or not t.decides or t.reason_required:
        return []
    return [task.department for task in case.tasks if task.result == "disagree"]


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
    confirmed: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Take a transition from the case page (a leader's decision among them; approving over a department's
    disagreement is confirmed first)."""
    try:
        against = _deciding_without_agreement(case, transition_name, user)
        if against and not confirmed:
            departments = "、".join(against)
            raise Conflict(
                f"{departments} 不同意，批准前请确认已阅读其意见 / {departments} disagreed: confirm that you have read "
                "their opinions before approving",
                departments=against,
            )
        transition(session, user, case.id, transition_name, version, reason or None)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc, confirm=transition_name)
    return _back(case)


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
    return _back(case)


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


@router.post("/cases/{case_id}/materials", response_class=HTMLResponse)
def case_materials(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.materials")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    materials: Annotated[list[str] | None, Form(max_length=50)] = None,
) -> Response:
    """Tick the materials received (the supplements brought after the one-time notice among them)."""
    try:
        set_materials(session, user, case.id, version, materials or [])
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#materials")


@router.post("/cases/{case_id}/applicant", response_class=HTMLResponse)
def case_applicant(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.applicant")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    applicant_name: Annotated[str | None, Form(max_length=100)] = None,
    applicant_type: Annotated[str | None, Form(max_length=10)] = None,
    id_number: Annotated[str | None, Form(max_length=32)] = None,
    phone: Annotated[str | None, Form(max_length=20)] = None,
    township: Annotated[str | None, Form(max_length=50)] = None,
    village: Annotated[str | None, Form(max_length=50)] = None,
    household_id: Annotated[str | None, Form(max_length=50)] = None,
    project_name: Annotated[str | None, Form(max_length=200)] = None,
    mineral: Annotated[str | None, Form(max_length=50)] = None,
    depth_top: Annotated[str | None, Form(max_length=20)] = None,
    depth_bottom: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    """Correct the applicant's details (audited; the check runs again when it reads a changed detail). A field the
    form sends empty is cleared; one it does not send stays as it is."""
    typed = {
        "applicant_name": applicant_name,
        "applicant_type": applicant_type,
        "id_number": id_number,
        "phone": phone,
        "township": township,
        "village": village,
        "household_id": household_id,
        "project_name": project_name,
        "mineral": mineral,
        "depth_top": depth_top,
        "depth_bottom": depth_bottom,
    }
    # the fields of another kind are not on the form: leave them as they are
    changes: dict[str, Any] = {
        k: v
        for k, v in typed.items()
        if v is not None and k in APPLICANT_FIELDS and case.kind in KIND_FIELDS.get(k, (case.kind,))
    }
    try:
        for k in ("depth_top", "depth_bottom"):
            if k in changes:
                changes[k] = _depth(changes[k], k)
        update_applicant(session, user, case.id, version, changes)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#applicant")


def _depth(value: str, name: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"开采标高：“{value}”不是数字 / {name}: {value!r} is not a number") from None


@router.post("/cases/{case_id}/boundary", response_class=HTMLResponse)
def case_boundary(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.boundary")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    boundary_file: Annotated[UploadFile | None, File()] = None,
    boundary_geojson: Annotated[str, Form()] = "",
) -> Response:
    """Replace the boundary by an uploaded file or a polygon drawn on the case map; the check runs again at once."""
    try:
        boundary: BoundaryInput
        if boundary_file is not None and boundary_file.filename:
            data = boundary_file.file.read(settings.max_upload_bytes + 1)
            boundary = boundary_from_upload(
                data, boundary_file.filename, settings.max_upload_bytes, county_extent(session)
            )
        elif boundary_geojson:  # parsed with its nesting measured first: 100 000 brackets are a 422, not a 500
            boundary = boundary_from_geojson(boundary_geojson, county_extent(session))
        else:
            raise InvalidInput(
                "用地范围：请选择文件或在地图上绘制新的范围 / boundary: choose a file or draw the new boundary on the map"
            )
        set_boundary(session, user, case.id, version, boundary)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#check-report")


@router.post("/cases/{case_id}/override", response_class=HTMLResponse)
def case_override(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.override")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The leader's exception to a blocking finding (a narrow legal exception, with the reason on record)."""
    try:
        override_block(session, user, case.id, version, reason)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#override")


@router.post("/cases/{case_id}/query-code", response_class=HTMLResponse)
def case_query_code(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.query_code")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    checked: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Reissue a lost query code after checking the applicant's identity; the old code stops working."""
    try:
        code = reissue_query_code(session, user, case.id, version, checked)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    session.commit()
    response = RedirectResponse(f"/cases/{case.id}#query-code", status_code=303)
    signer = signer_for(request)
    response.set_cookie(
        RECEIPT_COOKIE,
        signer.seal_receipt(case.id, code),
        max_age=signer.RECEIPT_SECONDS,
        path=f"/cases/{case.id}",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/cases/{case_id}/uploads/{upload_id}")
def case_upload_file(
    case: ReadCase, upload_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, user: Reader
) -> Response:
    """A file the applicant sent online, to be saved (never shown inline); the reading is audited."""
    upload = case_upload(session, case, upload_id)
    audit(session, user.actor, "upload.view", case.id, None, {"upload_id": upload.id, "file": upload.filename})
    session.commit()
    return download(upload)


@router.post("/cases/{case_id}/supplement/confirm", response_class=HTMLResponse)
def case_supplement_confirm(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.supplement")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
) -> Response:
    """Confirm the supplement sent online: materials ticked, a corrected boundary checked, the clocks resume."""
    try:
        confirm_supplement(session, user, case.id, version)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#online-files")


@router.post("/cases/{case_id}/supplement/return", response_class=HTMLResponse)
def case_supplement_return(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.supplement")],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    version: Version,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Ask again: return the supplement with the reason; a new one-time notice tells the applicant what is missing."""
    try:
        return_supplement(session, user, case.id, version, reason)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#online-files")


@router.post("/cases/{case_id}/responses/{response_id}/answer", response_class=HTMLResponse)
def case_response_answer(
    _csrf: CsrfDep,
    case: Annotated[Case, page_case("case.responses")],
    response_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    answer_text: Annotated[str, Form(alias="answer", max_length=4000)] = "",
) -> Response:
    """Answer an objection or a hearing request sent to the case's announcement (the sender is told)."""
    try:
        answer(session, user, case.id, response_id, answer_text)
    except DomainError as exc:
        return _refused(request, session, user, settings, case, exc)
    return _back(case, "#responses")
