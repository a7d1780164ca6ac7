"""The online window, for anyone without an account (limited per client address): the one-map pre-check, sending an
application with its files, answering the one-time notice (with the query code), the public register and the
requisition announcements with their objections and hearing requests. And for staff: the files sent online,
confirming or returning a supplement, answering the responses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from gis.check.rules import KINDS
from service.access.auth import Principal
from service.cases import announcements, online, register
from service.cases.boundaries import county_extent
from service.cases.uploads import case_upload, case_uploads, upload_row
from service.cases.views import case_detail
from service.cases.workflow import workflow
from service.core.errors import InvalidInput
from service.core.models import Case
from service.http.deps import MAX_ID, SessionDep, SettingsDep, case_access, permission
from service.http.limits import online_attempt, query_code_attempt
from service.http.schemas import MAX_VERSION
from service.http.sent_files import download, sent_boundary, sent_materials

router = APIRouter(tags=["online"])
PUBLIC = "/api/v1/public"
Reader = Annotated[Principal, permission("case.read")]
AnnouncementId = Annotated[int, Path(ge=1, le=MAX_ID, description="the announcement's id")]
QueryCode = Annotated[str, Header(alias="X-Query-Code", min_length=4, max_length=32, description="受理回执上的查询码")]
KindField = Annotated[str, Form(description="homestead | requisition | mining", max_length=20)]
BoundaryFileField = Annotated[
    UploadFile | None,
    File(description="界址点TXT, 矿业权拐点, CSV/XLSX point table, GeoJSON, zipped Shapefile, GPKG, KML"),
]
DrawnField = Annotated[str | None, Form(description="the plot drawn on the map (GeoJSON, lon/lat)")]
Materials = Annotated[list[UploadFile], File(description="PDF, JPEG or PNG files of the materials checklist")]
MaterialCodes = Annotated[list[str], Form(description="the checklist item of each file, in the files' order")]
Depth = Annotated[float | None, Form(ge=-5000, le=9000)]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"申请类型：未知类型 {kind!r} / kind: unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


@router.post(f"{PUBLIC}/applications/check", summary="The one-map pre-check of a plot, in plain words")
def precheck(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    kind: KindField,
    file: BoundaryFileField = None,
    geojson: DrawnField = None,
    household_id: Annotated[str | None, Form(max_length=50)] = None,
    depth_top: Depth = None,
    depth_bottom: Depth = None,
) -> dict[str, Any]:
    """Check a drawn or uploaded plot before sending the application: the verdict's summary and each finding as
    the rule words it (nothing stored; limited per client address)."""
    online_attempt(request, "online:check")
    boundary = sent_boundary(file, geojson, settings, county_extent(session))
    assert boundary is not None
    return online.precheck(session, _kind(kind), boundary.boundary, household_id, depth_top, depth_bottom)


@router.post(f"{PUBLIC}/applications", status_code=201, summary="Send an application online (网上申报)")
def apply(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    kind: KindField,
    applicant_name: Annotated[str, Form(max_length=100)],
    phone: Annotated[str, Form(max_length=20, description="手机号码: the window tells you by text message")],
    applicant_type: Annotated[Literal["person", "unit"], Form()] = "person",
    id_number: Annotated[str | None, Form(max_length=32)] = None,
    township: Annotated[str | None, Form(max_length=50)] = None,
    village: Annotated[str | None, Form(max_length=50)] = None,
    household_id: Annotated[str | None, Form(max_length=50)] = None,
    project_name: Annotated[str | None, Form(max_length=200)] = None,
    mineral: Annotated[str | None, Form(max_length=50)] = None,
    depth_top: Depth = None,
    depth_bottom: Depth = None,
    file: BoundaryFileField = None,
    geojson: DrawnField = None,
    materials: Materials = [],  # noqa: B006 - FastAPI copies defaults per request
    material_codes: MaterialCodes = [],  # noqa: B006
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    """Open a case in 网上预受理 with its plot (checked) and files; the answer carries the case number and the query
    code, once. The same Idempotency-Key answers 200 with the case sent first (without the code)."""
    online_attempt(request, "online:apply")
    application = online.OnlineApplication(
        kind=_kind(kind),
        applicant_name=applicant_name,
        phone=phone,
        applicant_type=applicant_type,
        id_number=id_number,
        township=township,
        village=village,
        household_id=household_id,
        project_name=project_name,
        mineral=mineral,
        depth_top=depth_top,
        depth_bottom=depth_bottom,
        idempotency_key=f"online-api:{idempotency_key}" if idempotency_key else None,
    )
    online.intake_of(application)  # the details first: a wrong phone is told before any file is read
    sent = sent_materials(materials, material_codes)
    boundary = sent_boundary(file, geojson, settings, county_extent(session))
    assert boundary is not None
    result = online.submit(session, application, boundary, sent)
    if not result.created:
        response.status_code = 200
    case = result.case
    return {
        "case_no": case.case_no,
        "query_code": result.query_code,
        "created": result.created,
        "status": case.status,
        "status_title": workflow().state_title(case.status),
        "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
        "files": len(sent),
    }


@router.post(
    f"{PUBLIC}/cases/{{case_no}}/supplements", status_code=201, summary="Answer the one-time notice online (补正)"
)
def supplement(
    case_no: Annotated[str, Path(max_length=40)],
    x_query_code: QueryCode,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    materials: Materials = [],  # noqa: B006
    material_codes: MaterialCodes = [],  # noqa: B006
    file: BoundaryFileField = None,
    geojson: DrawnField = None,
) -> dict[str, Any]:
    """Send the materials the notice asks for and a corrected boundary; the clerk confirms them or asks again."""
    online_attempt(request, "online:check")
    with query_code_attempt(request, case_no):
        online.find_by_query_code(session, case_no, x_query_code)
    sent = sent_materials(materials, material_codes)
    boundary = sent_boundary(file, geojson, settings, county_extent(session), required=False)
    rows = online.send_supplement(session, case_no, x_query_code, sent, boundary)
    return {"uploads": [{k: v for k, v in upload_row(u).items() if k != "sha256"} for u in rows]}


@router.get(f"{PUBLIC}/register", summary="The public register: cases received, their state and decisions")
def public_register(
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    township: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    """Return a page of the cases the window has received, newest first (the applicant's name masked)."""
    return register.public_register(session, kind, township, status, limit, offset)


@router.get(f"{PUBLIC}/announcements", summary="Requisition announcements (预公告, 补偿安置方案公告)")
def public_announcements(
    session: SessionDep,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """Return the announcements newest first, with their dates and the responses counted."""
    return announcements.public_announcements(session, open_only=open_only, limit=limit, offset=offset)


@router.get(f"{PUBLIC}/announcements/{{announcement_id}}", summary="One announcement with its land's boundary")
def public_announcement(announcement_id: AnnouncementId, session: SessionDep) -> dict[str, Any]:
    """Return an announcement with the boundary of the land for its map."""
    return announcements.public_announcement(session, announcement_id)


class ResponseIn(BaseModel):
    """An objection or a hearing request sent to an announcement."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["objection", "hearing"]
    name: str = Field(min_length=1, max_length=50, description="姓名或单位名称")
    phone: str = Field(min_length=5, max_length=20, description="联系电话 (the answer is told by text message)")
    content: str = Field(min_length=1, max_length=2000, description="异议的理由 or why a hearing is asked for")


@router.post(
    f"{PUBLIC}/announcements/{{announcement_id}}/responses",
    status_code=201,
    summary="Send an objection or a hearing request (听证) to an open announcement",
)
def respond(announcement_id: AnnouncementId, body: ResponseIn, request: Request, session: SessionDep) -> dict[str, Any]:
    """Record the response; the window answers it before the case's next step (409 once the announcement ended)."""
    online_attempt(request, "online:respond")
    r = announcements.respond(session, announcement_id, body.kind, body.name, body.phone, body.content)
    return {"id": r.id, "kind": r.kind, "received_at": r.created_at.isoformat()}


# --- staff ------------------------------------------------------------------------------------------------------

UploadId = Annotated[int, Path(ge=1, le=MAX_ID, description="the file's id")]
ResponseId = Annotated[int, Path(ge=1, le=MAX_ID, description="the response's id")]


@router.get("/api/v1/cases/{case_id}/uploads", summary="The files sent online for a case")
def uploads(case: Annotated[Case, case_access("case.read")], session: SessionDep) -> list[dict[str, Any]]:
    """Return the files sent with the application and answering the notice, without their bytes."""
    return [upload_row(u) for u in case_uploads(session, case)]


@router.get(
    "/api/v1/cases/{case_id}/uploads/{upload_id}",
    summary="One file sent online (download)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def upload_file(case: Annotated[Case, case_access("case.read")], upload_id: UploadId, session: SessionDep) -> Response:
    """Return the file as sent, to be saved (never shown inline)."""
    return download(case_upload(session, case, upload_id))


class VersionIn(BaseModel):
    """The version of the case the clerk saw."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)


class ReturnIn(VersionIn):
    """Asking again: why the supplement cannot be confirmed."""

    reason: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    """The window's answer to an objection or hearing request."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)


@router.post("/api/v1/cases/{case_id}/supplements/confirm", summary="Confirm the supplement sent online")
def confirm_supplement(
    case: Annotated[Case, case_access("case.supplement")], body: VersionIn, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Tick the materials it answers, take a corrected boundary (checked again), resume the clocks."""
    moved = online.confirm_supplement(session, principal, case.id, body.version)
    return case_detail(session, moved, principal.role)


@router.post("/api/v1/cases/{case_id}/supplements/return", summary="Return the supplement sent online and ask again")
def return_supplement(
    case: Annotated[Case, case_access("case.supplement")], body: ReturnIn, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Return the files with the reason and issue a new one-time notice (the clocks stay paused)."""
    moved = online.return_supplement(session, principal, case.id, body.version, body.reason)
    return case_detail(session, moved, principal.role)


@router.post(
    "/api/v1/cases/{case_id}/responses/{response_id}/answer", summary="Answer an objection or a hearing request"
)
def answer_response(
    case: Annotated[Case, case_access("case.responses")],
    response_id: ResponseId,
    body: AnswerIn,
    session: SessionDep,
    principal: Reader,
) -> dict[str, Any]:
    """Record the answer (the sender is told by text message); every response is answered before the next step."""
    r = announcements.answer(session, principal, case.id, response_id, body.answer)
    return {"id": r.id, "answered_at": r.answered_at.isoformat() if r.answered_at else None}
