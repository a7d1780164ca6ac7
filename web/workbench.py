"""The clerk's workbench: case list with both clocks, intake with the check shown before accepting, the case page."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.check import CheckRequest, run_check
from service import cases as svc
from service.api.cases import _visible
from service.api.deps import signer_for
from service.api.errors import status_for
from service.boundaries import boundary_from_upload
from service.errors import DomainError, InvalidInput, PermissionDenied
from service.models import CheckRun
from service.presenters import case_detail, case_rows, timeline
from service.worklists import awaiting_decision, review_tasks
from web.i18n import lang_of
from web.map import build_map, render_parts
from web.pages import SessionDep, SettingsDep, basemap_of, map_layers, page
from web.session import CsrfDep, UserDep

router = APIRouter(include_in_schema=False)
RECEIPT_COOKIE = "lw_receipt"
"""Carries a new case's query code from the intake to its page for ten minutes (signed, HttpOnly, that path only)."""
KINDS = ("homestead", "requisition", "mining")


def conflicts_of(report: dict[str, Any]) -> dict[str, Any]:
    """Return the report's blocking and warning overlaps as a FeatureCollection for the map (red)."""
    feats = []
    # warnings first, blocking findings last: where both cover the same ground, the block is drawn on top
    for r in sorted(report.get("rules", []), key=lambda r: r["status"] == "block"):
        if r["status"] != "pass" and r.get("geometry"):
            feats.append({"type": "Feature", "geometry": r["geometry"], "properties": {
                "rule": r["rule"], "title": r["title"], "status": r["status"], "overlap_m2": round(r["overlap_m2"], 2),
                "overlap_mu": round(r["overlap_mu"], 4), "message": r["message"]}})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def _map(request: Request, settings: Any, boundary: dict[str, Any] | None, report: dict[str, Any] | None, draw: bool = False) -> Any:
    # with no bounds given, build_map frames the boundary and its conflicts itself
    m = build_map(map_layers(lang_of(request)), static_url=settings.static_url, basemap=basemap_of(settings),
                  boundary=boundary, conflicts=conflicts_of(report) if report else None,
                  draw_field="boundary_geojson" if draw else None, lang=lang_of(request))  # fmt: skip
    return render_parts(m)


@router.get("/workbench", response_class=HTMLResponse)
def workbench(request: Request, session: SessionDep, user: UserDep, kind: str | None = None, due: str | None = None) -> Response:
    """List cases with both clocks as countdowns; overdue in red, the last day in amber."""
    rows = case_rows(session, user.role, user.department, kind if kind in KINDS else None,
                     due=due if due in ("soon", "overdue") else None, limit=300)  # fmt: skip
    todo = review_tasks(session, user.department) if user.role == "reviewer" else None
    decide = awaiting_decision(session, "leader") if user.role in ("leader", "admin") else None
    return page(request, "workbench.html", {"rows": rows, "nav": "workbench", "kind": kind, "due": due,
                                            "todo": todo, "decide": decide}, user=user)  # fmt: skip


def _intake_form(request: Request, user: Any, settings: Any, **ctx: Any) -> Response:
    from service.workflow import workflow

    kind = ctx.get("values", {}).get("kind", "homestead")
    report = ctx.get("report")
    boundary = ctx.get("boundary")
    return page(request, "intake.html", {
        "nav": "new", "materials": workflow().materials, "kind": kind, "values": ctx.get("values", {}),
        "map": _map(request, settings, boundary, report, draw=True), **ctx,
    }, user=user, status=ctx.get("status", 200))  # fmt: skip


@router.get("/cases/new", response_class=HTMLResponse)
def intake(request: Request, user: UserDep, settings: SettingsDep) -> Response:
    """The intake form: applicant, boundary (upload or draw), materials received."""
    return _intake_form(request, user, settings)


@router.post("/cases/new", response_class=HTMLResponse)
def intake_post(
    request: Request,
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form()],
    applicant_name: Annotated[str, Form(max_length=100)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    village: Annotated[str, Form(max_length=50)] = "",
    household_id: Annotated[str, Form(max_length=50)] = "",
    project_name: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form()] = "check",
    materials: Annotated[list[str] | None, Form()] = None,
    boundary_file: Annotated[UploadFile | None, File()] = None,
    boundary_kept: Annotated[str, Form()] = "",
    boundary_name: Annotated[str, Form()] = "",
    boundary_geojson: Annotated[str, Form()] = "",
) -> Response:
    """Check the boundary and show the result on the map; on `create`, take the application in."""
    values = {"kind": kind, "applicant_name": applicant_name, "id_number": id_number, "phone": phone, "village": village,
              "household_id": household_id, "project_name": project_name, "materials": materials or []}  # fmt: skip
    data, name, chosen, kept_damaged = b"", boundary_name, False, False
    if boundary_file is not None and boundary_file.filename:
        data, name, chosen = boundary_file.file.read(settings.max_upload_bytes + 1), boundary_file.filename, True
    elif boundary_kept:
        try:
            data = base64.b64decode(boundary_kept, validate=True)
        except ValueError:  # binascii.Error: the hidden field was tampered with
            kept_damaged = True
    try:
        if kind not in KINDS:
            raise InvalidInput(f"未知申请类型 unknown kind {kind!r}")
        if kept_damaged:
            raise InvalidInput("保留的用地范围文件已损坏，请重新上传 / the kept boundary file is damaged: upload it again")
        if data or chosen:  # a chosen empty file is refused as empty, not as missing
            boundary = boundary_from_upload(data, name or "boundary.txt", settings.max_upload_bytes)
        elif boundary_geojson:
            import json

            from service.boundaries import boundary_from_geojson

            try:
                drawn = json.loads(boundary_geojson)
            except ValueError as exc:
                raise InvalidInput(f"绘制的范围无法解析 / the drawn boundary does not parse: {exc}") from exc
            boundary = boundary_from_geojson(drawn)
        else:
            raise InvalidInput("请上传用地范围文件或在地图上绘制 / upload a boundary file or draw it on the map")
        conn = session.connection().connection.driver_connection
        report = run_check(conn, CheckRequest(kind=kind, geometry=boundary.geometry, household_id=household_id or None,  # type: ignore[arg-type]
                                              province=settings.province)).to_dict()  # fmt: skip
        from shapely.geometry import mapping

        geojson = dict(mapping(boundary.geometry))
        if action == "create":
            if not applicant_name.strip():
                raise InvalidInput("请填写申请人 / the applicant's name is missing")
            intake_data = svc.Intake(kind=kind, applicant_name=applicant_name.strip(), id_number=id_number or None,
                                     phone=phone or None, village=village or None, household_id=household_id or None,
                                     project_name=project_name or None, materials_received=materials or [])  # fmt: skip
            result = svc.create_case(session, user, intake_data, boundary)
            session.commit()
            # the query code travels in a short-lived signed cookie for the case page only: a URL would put it in
            # the browser's history and the server's access log
            response = RedirectResponse(f"/cases/{result.case.id}", status_code=303)
            if result.query_code:
                response.set_cookie(RECEIPT_COOKIE, signer_for(request).seal_receipt(result.case.id, result.query_code),
                                    max_age=signer_for(request).RECEIPT_SECONDS, path=f"/cases/{result.case.id}",
                                    httponly=True, samesite="strict")  # fmt: skip
            return response
        return _intake_form(request, user, settings, values=values, report=report, boundary=geojson,
                            boundary_kept=base64.b64encode(data).decode() if data else "", boundary_name=name)  # fmt: skip
    except DomainError as exc:
        session.rollback()
        return _intake_form(request, user, settings, values=values, error=exc.message, status=status_for(exc),
                            boundary_kept=base64.b64encode(data).decode() if data else "", boundary_name=name)  # fmt: skip


# Audit actions that only record a reading of the case; the case page's timeline leaves them out.
READ_ACTIONS = ("case.view_personal", "notice.view", "document.view", "boundary.export", "filing.export")


def _case_page(request: Request, session: Any, user: Any, settings: Any, case_id: int, code: str | None = None,
               error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    case = _visible(session, user, case_id)
    detail = case_detail(session, case, user.role)
    run = session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None
    from service.audit import audit

    audit(session, user.actor, "case.view_personal", case.id, None, None)
    my_task = next((t for t in detail["tasks"] if t["status"] != "done" and user.role == "reviewer"
                    and t["department"] == user.department and case.status == "in_review"), None)  # fmt: skip
    steps = [e for e in timeline(session, case) if e["action"] not in READ_ACTIONS]
    return page(request, "case.html", {
        "c": detail, "report": run.report if run else None, "timeline": steps, "query_code": code,
        "map": _map(request, settings, detail["boundary"], run.report if run else None), "nav": "workbench",
        "my_task": my_task, "error": error,
    }, user=user, status=status)  # fmt: skip


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: int, request: Request, session: SessionDep, user: UserDep, settings: SettingsDep) -> Response:
    """The case with its map, check report, review opinions, materials, timeline and the actions the user's role allows."""
    code = signer_for(request).open_receipt(request.cookies.get(RECEIPT_COOKIE), case_id)
    return _case_page(request, session, user, settings, case_id, code)


def _refused(request: Request, session: Any, user: Any, settings: Any, case_id: int, exc: DomainError) -> Response:
    """Show the case page again with what went wrong, under the error's status (409 stale or illegal, 422, 403)."""
    session.rollback()
    return _case_page(request, session, user, settings, case_id, error=exc.message, status=status_for(exc))


@router.post("/cases/{case_id}/act", response_class=HTMLResponse)
def case_action(
    case_id: int, request: Request, session: SessionDep, user: UserDep, settings: SettingsDep, _csrf: CsrfDep,
    transition: Annotated[str, Form()], version: Annotated[int, Form()], reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Take a transition from the case page (a leader's decision among them)."""
    _visible(session, user, case_id)
    try:
        svc.transition(session, user, case_id, transition, version, reason or None)
    except DomainError as exc:
        return _refused(request, session, user, settings, case_id, exc)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/tasks/{task_id}", response_class=HTMLResponse)
def case_review(
    case_id: int, task_id: int, request: Request, session: SessionDep, user: UserDep, settings: SettingsDep, _csrf: CsrfDep,
    version: Annotated[int, Form()], result: Annotated[str, Form(max_length=20)] = "",
    opinion: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    """Record the reviewer's department opinion (agree / disagree with the text); the last one moves the case on."""
    _visible(session, user, case_id)
    try:
        svc.complete_task(session, user, case_id, task_id, version, result, opinion)
    except DomainError as exc:
        return _refused(request, session, user, settings, case_id, exc)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/notice")
def case_notice(case_id: int, request: Request, session: SessionDep, user: UserDep, settings: SettingsDep, _csrf: CsrfDep) -> Response:
    """Issue the one-time notice and open its print view."""
    _visible(session, user, case_id)
    try:
        if user.role not in ("clerk", "admin"):
            raise PermissionDenied("只有窗口受理人员可以出具告知书 / only clerks issue notices")
        svc.one_time_notice(session, user, case_id)
    except DomainError as exc:
        return _refused(request, session, user, settings, case_id, exc)
    return RedirectResponse(f"/cases/{case_id}/notice", status_code=303)
