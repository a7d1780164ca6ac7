"""Cases: intake, list, detail, boundary, transitions, materials, review, notices and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile

from service.access.auth import Principal
from service.cases.boundaries import boundary_from_geojson, boundary_from_upload, county_extent, set_boundary
from service.cases.checking import latest_check
from service.cases.intake import Intake, create_case, set_materials
from service.cases.notices import one_time_notice, require_latest_notice
from service.cases.review import complete_task, override_block
from service.cases.transitions import transition
from service.cases.views import case_detail, case_rows, timeline
from service.core.audit import audit
from service.core.errors import NotFound
from service.core.models import Case
from service.http.deps import MAX_ID, SessionDep, SettingsDep, TaskId, case_access, permission
from service.http.schemas import MAX_VERSION, CaseCreate, MaterialsIn, OverrideIn, TaskIn, TransitionIn

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Reader = Annotated[Principal, permission("case.read")]
ReadCase = Annotated[Case, case_access("case.read")]


def _detail(session: SessionDep, principal: Principal, case: Case) -> dict[str, Any]:
    audit(session, principal.actor, "case.view_personal", case.id, None, None)
    return case_detail(session, case, principal.role)


@router.post("", status_code=201, summary="Take in an application (idempotent with Idempotency-Key)")
def create(
    body: CaseCreate,
    session: SessionDep,
    principal: Annotated[Principal, permission("case.create")],
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    """Create a case; with a boundary, its one-map check runs in the same transaction."""
    boundary = boundary_from_geojson(body.boundary, county_extent(session)) if body.boundary is not None else None
    intake = Intake(**body.model_dump(exclude={"boundary"}), idempotency_key=idempotency_key)
    result = create_case(session, principal, intake, boundary)
    if not result.created:
        response.status_code = 200
    out = _detail(session, principal, result.case)
    out["query_code"] = result.query_code
    out["created"] = result.created
    return out


@router.get("", summary="List cases (personal data masked)")
def list_cases(
    session: SessionDep,
    principal: Annotated[Principal, permission("case.list")],
    kind: str | None = None,
    status: str | None = None,
    due: Annotated[str | None, Query(pattern="^(soon|overdue)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """Return cases newest first, filtered by kind, state and deadline."""
    return case_rows(session, principal, kind, status, due, limit, offset)


@router.get("/{case_id}", summary="One case with everything staff need")
def get(case: ReadCase, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Return a case's detail (the view of personal data is audited)."""
    return _detail(session, principal, case)


@router.post("/{case_id}/boundary", summary="Upload or replace the boundary; the check runs in the same transaction")
def upload_boundary(
    case: Annotated[Case, case_access("case.boundary")],
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
    file: Annotated[
        UploadFile,
        File(description="TXT, mining corner string, CSV/XLSX point table, GeoJSON, zipped Shapefile, GPKG, KML"),
    ],
) -> dict[str, Any]:
    """Parse the uploaded boundary file, set it on the case and return the stored check report."""
    data = file.file.read(settings.max_upload_bytes + 1)  # a sync route: FastAPI runs it in the thread pool
    boundary = boundary_from_upload(
        data, file.filename or "boundary", settings.max_upload_bytes, county_extent(session)
    )
    run = set_boundary(session, principal, case.id, version, boundary)
    return {"check_id": run.id, "verdict": run.verdict, "report": run.report, "version": case.version}


@router.post("/{case_id}/transitions", summary="Move the case along its workflow")
def take_transition(case: ReadCase, body: TransitionIn, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Take a transition; 409 lists the allowed ones when it is illegal or the version is stale."""
    moved = transition(session, principal, case.id, body.transition, body.version, body.reason)
    return case_detail(session, moved, principal.role)


@router.post("/{case_id}/materials", summary="Record the materials received")
def materials(
    case: Annotated[Case, case_access("case.materials")], body: MaterialsIn, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Set the received materials (the full list)."""
    return case_detail(session, set_materials(session, principal, case.id, body.version, body.received), principal.role)


@router.post("/{case_id}/tasks/{task_id}", summary="Record a department's review opinion")
def review(
    case: Annotated[Case, case_access("case.review")],
    task_id: TaskId,
    body: TaskIn,
    session: SessionDep,
    principal: Reader,
) -> dict[str, Any]:
    """Complete a review task; the last one moves the case on."""
    done = complete_task(session, principal, case.id, task_id, body.version, body.result, body.opinion)
    return case_detail(session, done, principal.role)


@router.post("/{case_id}/override", summary="A leader's exception to a blocking finding")
def override(
    case: Annotated[Case, case_access("case.override")], body: OverrideIn, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Record a leader's override with its reason."""
    return case_detail(session, override_block(session, principal, case.id, body.version, body.reason), principal.role)


@router.get("/{case_id}/check", summary="The latest stored check report")
def check_report(case: ReadCase, session: SessionDep) -> dict[str, Any]:
    """Return the case's latest check report with the layer versions it used."""
    run = latest_check(session, case)
    if run is None:
        raise NotFound("该案件尚未核查 / the case has not been checked yet")
    return {"id": run.id, "created_at": run.created_at.isoformat(), "trigger": run.trigger, **run.report}


@router.post("/{case_id}/notices", status_code=201, summary="Issue the one-time notice")
def issue_notice(
    case: Annotated[Case, case_access("case.notice")], session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Issue and record the one-time notice (missing materials and map findings)."""
    notice = one_time_notice(session, principal, case.id)
    return {"id": notice.id, **notice.content}


@router.get("/{case_id}/notices/latest", summary="The latest one-time notice")
def latest_notice(case: ReadCase, session: SessionDep) -> dict[str, Any]:
    """Return the latest notice issued for the case."""
    notice = require_latest_notice(session, case)
    return {"id": notice.id, **notice.content}


@router.get("/{case_id}/audit", summary="The case's audit trail")
def audit_trail(case: ReadCase, session: SessionDep) -> list[dict[str, Any]]:
    """Return every audit entry of the case."""
    return timeline(session, case)
