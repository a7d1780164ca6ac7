"""Cases: intake, list, detail, boundary, transitions, materials, review, notices and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from sqlalchemy import select

from service import cases as svc
from service.api.deps import MAX_ID, CaseId, PrincipalDep, SessionDep, SettingsDep, TaskId
from service.audit import audit
from service.auth import Principal
from service.boundaries import boundary_from_geojson, boundary_from_upload
from service.errors import NotFound, PermissionDenied
from service.models import Case, Notice, ReviewTask
from service.presenters import case_detail, case_rows, timeline
from service.schemas import MAX_VERSION, CaseCreate, MaterialsIn, OverrideIn, TaskIn, TransitionIn

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

STAFF = ("clerk", "reviewer", "leader", "planner", "admin")


def _visible(session: SessionDep, principal: Principal, case_id: int) -> Case:
    """Return a case the principal may see; reviewers see only cases with a task of their department."""
    case = svc.get_case(session, case_id)
    if principal.role == "reviewer":
        has_task = session.scalar(
            select(ReviewTask.id).where(ReviewTask.case_id == case.id, ReviewTask.department == principal.department)
        )
        if has_task is None:
            raise NotFound(f"案件不存在 / case {case_id} not found")
    return case


def _detail(session: SessionDep, principal: Principal, case: Case) -> dict[str, Any]:
    audit(session, principal.actor, "case.view_personal", case.id, None, None)
    return case_detail(session, case, principal.role)


@router.post("", status_code=201, summary="Take in an application (idempotent with Idempotency-Key)")
def create(
    body: CaseCreate,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    """Create a case; with a boundary, its one-map check runs in the same transaction."""
    boundary = boundary_from_geojson(body.boundary) if body.boundary is not None else None
    intake = svc.Intake(
        **body.model_dump(exclude={"boundary"}),
        idempotency_key=idempotency_key,
    )
    result = svc.create_case(session, principal, intake, boundary)
    if not result.created:
        response.status_code = 200
    out = _detail(session, principal, result.case)
    out["query_code"] = result.query_code
    out["created"] = result.created
    return out


@router.get("", summary="List cases (personal data masked)")
def list_cases(
    session: SessionDep,
    principal: PrincipalDep,
    kind: str | None = None,
    status: str | None = None,
    due: Annotated[str | None, Query(pattern="^(soon|overdue)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """Return cases newest first, filtered by kind, state and deadline."""
    return case_rows(session, principal.role, principal.department, kind, status, due, limit, offset)


@router.get("/{case_id}", summary="One case with everything staff need")
def get(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Return a case's detail (the view of personal data is audited)."""
    return _detail(session, principal, _visible(session, principal, case_id))


@router.post("/{case_id}/boundary", summary="Upload or replace the boundary; the check runs in the same transaction")
def upload_boundary(
    case_id: CaseId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
    file: Annotated[UploadFile, File(description="TXT, mining corner string, GeoJSON, zipped Shapefile, GPKG, KML")],
) -> dict[str, Any]:
    """Parse the uploaded boundary file, set it on the case and return the stored check report."""
    _visible(session, principal, case_id)
    if principal.role not in ("clerk", "admin"):
        raise PermissionDenied("只有窗口受理人员可以修改用地范围 / only clerks change a case's boundary")
    data = file.file.read(settings.max_upload_bytes + 1)  # a sync route: FastAPI runs it in the thread pool
    boundary = boundary_from_upload(data, file.filename or "boundary", settings.max_upload_bytes)
    run = svc.set_boundary(session, principal, case_id, version, boundary)
    return {"check_id": run.id, "verdict": run.verdict, "report": run.report, "version": svc.get_case(session, case_id).version}


@router.post("/{case_id}/transitions", summary="Move the case along its workflow")
def take_transition(case_id: CaseId, body: TransitionIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Take a transition; 409 lists the allowed ones when it is illegal or the version is stale."""
    _visible(session, principal, case_id)
    case = svc.transition(session, principal, case_id, body.transition, body.version, body.reason)
    return case_detail(session, case, principal.role)


@router.post("/{case_id}/materials", summary="Record the materials received")
def materials(case_id: CaseId, body: MaterialsIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Set the received materials (the full list)."""
    _visible(session, principal, case_id)
    case = svc.set_materials(session, principal, case_id, body.version, body.received)
    return case_detail(session, case, principal.role)


@router.post("/{case_id}/tasks/{task_id}", summary="Record a department's review opinion")
def review(case_id: CaseId, task_id: TaskId, body: TaskIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Complete a review task; the last one moves the case on."""
    _visible(session, principal, case_id)
    case = svc.complete_task(session, principal, case_id, task_id, body.version, body.result, body.opinion)
    return case_detail(session, case, principal.role)


@router.post("/{case_id}/override", summary="A leader's exception to a blocking finding")
def override(case_id: CaseId, body: OverrideIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Record a leader's override with its reason."""
    _visible(session, principal, case_id)
    case = svc.override_block(session, principal, case_id, body.version, body.reason)
    return case_detail(session, case, principal.role)


@router.get("/{case_id}/check", summary="The latest stored check report")
def check_report(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Return the case's latest check report with the layer versions it used."""
    case = _visible(session, principal, case_id)
    run = svc.latest_check(session, case)
    if run is None:
        raise NotFound("该案件尚未核查 / the case has not been checked yet")
    return {"id": run.id, "created_at": run.created_at.isoformat(), "trigger": run.trigger, **run.report}


@router.post("/{case_id}/notices", status_code=201, summary="Issue the one-time notice")
def issue_notice(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Issue and record the one-time notice (missing materials and map findings)."""
    if principal.role not in ("clerk", "admin"):
        raise PermissionDenied("只有窗口受理人员可以出具告知书 / only clerks issue notices")
    _visible(session, principal, case_id)
    notice = svc.one_time_notice(session, principal, case_id)
    return {"id": notice.id, **notice.content}


@router.get("/{case_id}/notices/latest", summary="The latest one-time notice")
def latest_notice(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Return the latest notice issued for the case."""
    case = _visible(session, principal, case_id)
    notice = session.scalar(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id.desc()).limit(1))
    if notice is None:
        raise NotFound("尚未出具告知书 / no notice issued yet")
    return {"id": notice.id, **notice.content}


@router.get("/{case_id}/audit", summary="The case's audit trail")
def audit_trail(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Return every audit entry of the case."""
    return timeline(session, _visible(session, principal, case_id))
