"""Intake at the window: the applicant, the boundary (upload or draw) with its check shown on the map before the
application is taken in, and the materials received."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import mapping

from gis.boundary import CountyExtent
from gis.check.rules import KINDS
from service.access.auth import Principal
from service.cases.boundaries import BoundaryInput, boundary_from_geojson, boundary_from_upload, county_extent
from service.cases.checking import preview_check
from service.cases.intake import Intake, create_case
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


def _form(request: Request, user: Principal, settings: Any, status: int = 200, **ctx: Any) -> Response:
    values = ctx.setdefault("values", {})
    context = {
        "nav": "new",
        "kinds": KINDS,
        "materials": workflow().materials,
        "kind": values.get("kind", KINDS[0]),
        "map": case_map(request, settings, ctx.get("boundary"), ctx.get("report"), draw=True),
        **ctx,
    }
    return page(request, "intake.html", context, user=user, status=status)


@router.get("/cases/new", response_class=HTMLResponse)
def intake(
    request: Request, user: Annotated[Principal, page_permission("case.list")], settings: SettingsDep
) -> Response:
    """The intake form: applicant, boundary (upload or draw), materials received."""
    return _form(request, user, settings)


def _boundary(data: bytes, chosen: bool, name: str, drawn: str, max_bytes: int, extent: CountyExtent) -> BoundaryInput:
    if data or chosen:  # a chosen empty file is refused as empty, not as missing
        return boundary_from_upload(data, name or "boundary.txt", max_bytes, extent)
    if drawn:
        try:
            return boundary_from_geojson(json.loads(drawn), extent)
        except ValueError as exc:
            raise InvalidInput(f"绘制的范围无法解析 / the drawn boundary does not parse: {exc}") from exc
    raise InvalidInput("请上传用地范围文件或在地图上绘制 / upload a boundary file or draw it on the map")


@router.post("/cases/new", response_class=HTMLResponse)
def intake_post(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, page_permission("case.list")],
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
    values = {
        "kind": kind,
        "applicant_name": applicant_name,
        "id_number": id_number,
        "phone": phone,
        "village": village,
        "household_id": household_id,
        "project_name": project_name,
        "materials": materials or [],
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
    try:
        if kind not in KINDS:
            raise InvalidInput(f"未知申请类型 unknown kind {kind!r}")
        if kept_damaged:
            raise InvalidInput(
                "保留的用地范围文件已损坏，请重新上传 / the kept boundary file is damaged: upload it again"
            )
        boundary = _boundary(data, chosen, name, boundary_geojson, settings.max_upload_bytes, county_extent(session))
        if action == "create":
            return _take_in(request, session, user, values, boundary)
        report = preview_check(session, kind, boundary.geometry, household_id or None).to_dict()
        geojson = dict(mapping(boundary.geometry))
        return _form(
            request,
            user,
            settings,
            values=values,
            report=report,
            boundary=geojson,
            boundary_kept=kept,
            boundary_name=name,
        )
    except DomainError as exc:
        session.rollback()
        return _form(
            request,
            user,
            settings,
            status=status_for(exc),
            values=values,
            error=exc.message,
            boundary_kept=kept,
            boundary_name=name,
        )


def _take_in(
    request: Request, session: Any, user: Principal, values: dict[str, Any], boundary: BoundaryInput
) -> Response:
    """Take the application in (its check runs once, in the same transaction) and open its page."""
    if not values["applicant_name"].strip():
        raise InvalidInput("请填写申请人 / the applicant's name is missing")
    intake = Intake(
        kind=values["kind"],
        applicant_name=values["applicant_name"].strip(),
        id_number=values["id_number"] or None,
        phone=values["phone"] or None,
        village=values["village"] or None,
        household_id=values["household_id"] or None,
        project_name=values["project_name"] or None,
        materials_received=values["materials"],
    )
    result = create_case(session, user, intake, boundary)
    session.commit()
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
