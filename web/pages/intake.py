"""Intake at the window: the applicant, the boundary (upload or draw) with its check shown on the map before the
application is taken in, and the materials received. The boundary is kept across the check and a refused submit;
the form carries an idempotency token, so going back and pressing 收件 again opens the case already taken in."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import mapping

from gis.boundary import CountyExtent
from gis.check.rules import KINDS
from service.access.auth import Principal
from service.cases.boundaries import BoundaryInput, boundary_from_geojson, boundary_from_upload, county_extent
from service.cases.checking import preview_check
from service.cases.intake import APPLICANT_TYPES, Intake, create_case
from service.cases.places import places_of
from service.cases.workflow import workflow
from service.core.errors import DomainError, InvalidInput
from service.http.deps import SessionDep, SettingsDep, signer_for
from service.http.errors import status_for
from web.pages.common import page
from web.pages.mapviews import case_map
from web.session import CsrfDep, page_permission

router = APIRouter(include_in_schema=False)
RECEIPT_COOKIE = "lw_receipt"
"""Carries a new case's query code from the intake to its page for ten minutes (signed, HttpOnly, that path only)."""

KIND_FIELDS = {
    "household_id": ("homestead",),
    "project_name": ("requisition", "mining"),
    "green_channel": ("requisition",),
    "mineral": ("mining",),
    "depth_top": ("mining",),
    "depth_bottom": ("mining",),
}
"""The form's fields that belong to some kinds only (shown, and sent, for those)."""


def _form(request: Request, user: Principal, settings: Any, status: int = 200, **ctx: Any) -> Response:
    values = ctx.setdefault("values", {})
    values.setdefault("intake_token", secrets.token_urlsafe(18))
    context = {
        "nav": "new",
        "kinds": KINDS,
        "materials": workflow().materials,
        "kind": values.get("kind", KINDS[0]),
        "kind_fields": {k: " ".join(v) for k, v in KIND_FIELDS.items()},
        "applicant_types": APPLICANT_TYPES,
        "map": case_map(request, settings, ctx.get("boundary"), ctx.get("report"), draw=True),
        **ctx,
    }
    return page(request, "intake.html", context, user=user, status=status)


@router.get("/cases/new", response_class=HTMLResponse)
def intake(
    request: Request, user: Annotated[Principal, page_permission("case.list")], settings: SettingsDep
) -> Response:
    """The intake form: applicant, boundary (upload or draw), materials received."""
    return _form(request, user, settings, fresh=True)


def _boundary(data: bytes, chosen: bool, name: str, drawn: str, max_bytes: int, extent: CountyExtent) -> BoundaryInput:
    if data or chosen:  # a chosen empty file is refused as empty, not as missing
        return boundary_from_upload(data, name or "boundary.txt", max_bytes, extent)
    if drawn:
        return boundary_from_geojson(drawn, extent)
    raise InvalidInput(
        "用地范围：请上传用地范围文件或在地图上绘制 / boundary: upload a boundary file or draw it on the map"
    )


def _number(value: str, label_zh: str, name: str) -> float | None:
    text = value.strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{label_zh}：“{value}”不是数字 / {name}: {value!r} is not a number") from None


@router.post("/cases/new", response_class=HTMLResponse)
def intake_post(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, page_permission("case.list")],
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form()],
    applicant_name: Annotated[str, Form(max_length=100)] = "",
    applicant_type: Annotated[str, Form(max_length=10)] = "person",
    id_number: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    township: Annotated[str, Form(max_length=50)] = "",
    village: Annotated[str, Form(max_length=50)] = "",
    household_id: Annotated[str, Form(max_length=50)] = "",
    project_name: Annotated[str, Form(max_length=200)] = "",
    green_channel: Annotated[str, Form(max_length=5)] = "",
    mineral: Annotated[str, Form(max_length=50)] = "",
    depth_top: Annotated[str, Form(max_length=20)] = "",
    depth_bottom: Annotated[str, Form(max_length=20)] = "",
    action: Annotated[str, Form()] = "check",
    materials: Annotated[list[str] | None, Form()] = None,
    intake_token: Annotated[str, Form(max_length=64)] = "",
    boundary_file: Annotated[UploadFile | None, File()] = None,
    boundary_kept: Annotated[str, Form()] = "",
    boundary_name: Annotated[str, Form()] = "",
    boundary_geojson: Annotated[str, Form()] = "",
) -> Response:
    """Check the boundary and show the result on the map; on `create`, take the application in."""
    values = {
        "kind": kind,
        "applicant_name": applicant_name,
        "applicant_type": applicant_type,
        "id_number": id_number,
        "phone": phone,
        "township": township,
        "village": village,
        "household_id": household_id,
        "project_name": project_name,
        "green_channel": green_channel,
        "mineral": mineral,
        "depth_top": depth_top,
        "depth_bottom": depth_bottom,
        "materials": materials or [],
        "intake_token": intake_token or secrets.token_urlsafe(18),
    }
    data, name, chosen, kept_damaged = b"", boundary_name, False, False
    if boundary_file is not None and boundary_file.filename:
        data, name, chosen = boundary_file.file.read(settings.max_upload_bytes + 1), boundary_file.filename, True
    elif boundary_kept:
        try:
            data = base64.b64decode(boundary_kept, validate=True)
        except ValueError:  # binascii.Error: the hidden field was tampered with
            kept_damaged = True
    kept = base64.b64encode(data).decode() if data else ""
    drawn = "" if data or chosen else boundary_geojson
    keep = {"boundary_kept": kept, "boundary_name": name if data else "", "boundary_drawn": drawn}
    boundary: BoundaryInput | None = None
    try:
        if kind not in KINDS:
            raise InvalidInput(f"申请类型：未知类型 {kind!r} / kind: unknown kind {kind!r}")
        if kept_damaged:
            raise InvalidInput(
                "保留的用地范围文件已损坏，请重新上传 / the kept boundary file is damaged: upload it again"
            )
        boundary = _boundary(data, chosen, name, drawn, settings.max_upload_bytes, county_extent(session))
        if action == "create":
            return _take_in(request, session, user, values, boundary)
        return _checked(request, session, user, settings, values, boundary, keep)
    except DomainError as exc:
        session.rollback()
        if boundary is not None:  # the boundary was fine: keep it on the map, with its check, beside the refusal
            try:
                return _checked(request, session, user, settings, values, boundary, keep, exc)
            except DomainError:
                session.rollback()
        return _form(request, user, settings, status=status_for(exc), values=values, error=exc.message, **keep)


def _checked(
    request: Request,
    session: Any,
    user: Principal,
    settings: Any,
    values: dict[str, Any],
    boundary: BoundaryInput,
    keep: dict[str, str],
    error: DomainError | None = None,
) -> Response:
    """Show the form again with the boundary's check on the map (and the refusal, when the submit was refused)."""
    kind = values["kind"]
    household = values["household_id"] if kind == "homestead" else ""
    report = preview_check(session, kind, boundary.geometry, household or None, user.county).to_dict()
    places = places_of(session, boundary.geometry)
    return _form(
        request,
        user,
        settings,
        status=status_for(error) if error else 200,
        values=values,
        report=report,
        places=places,
        boundary=dict(mapping(boundary.geometry)),
        warnings=boundary.source.get("warnings", []),
        error=error.message if error else None,
        **keep,
    )


def _take_in(
    request: Request, session: Any, user: Principal, values: dict[str, Any], boundary: BoundaryInput
) -> Response:
    """Take the application in (its check runs once, in the same transaction) and open its page; a second submit of
    the same form (back, 收件 again) opens the case the first one took in."""
    kind = values["kind"]

    def only(field: str) -> str:
        return str(values[field]).strip() if kind in KIND_FIELDS[field] else ""

    intake = Intake(
        kind=kind,
        applicant_name=values["applicant_name"].strip(),
        applicant_type=values["applicant_type"] if values["applicant_type"] in APPLICANT_TYPES else "person",
        id_number=values["id_number"].strip().upper() or None,
        phone=values["phone"].strip() or None,
        township=values["township"].strip() or None,
        village=values["village"].strip() or None,
        household_id=only("household_id") or None,
        project_name=only("project_name") or None,
        green_channel=bool(only("green_channel")),
        mineral=only("mineral") or None,
        depth_top=_number(only("depth_top"), "开采标高上", "depth_top"),
        depth_bottom=_number(only("depth_bottom"), "开采标高下", "depth_bottom"),
        materials_received=values["materials"],
        idempotency_key=f"form:{user.username}:{values['intake_token']}",
    )
    result = create_case(session, user, intake, boundary)
    session.commit()
    if not result.created:
        return RedirectResponse(f"/cases/{result.case.id}?already=1", status_code=303)
    # the query code travels in a short-lived signed cookie for the case page only: a URL would put it in
    # the browser's history and the server's access log
    response = RedirectResponse(f"/cases/{result.case.id}", status_code=303)
    if result.query_code:
        signer = signer_for(request)
        note = signer.seal_receipt(result.case.id, result.query_code)
        response.set_cookie(
            RECEIPT_COOKIE,
            note,
            max_age=signer.RECEIPT_SECONDS,
            path=f"/cases/{result.case.id}",
            httponly=True,
            samesite="strict",
        )
    return response
