"""The online window's public pages (no account; limited per client address): applying online — the plot drawn or
uploaded, the one-map pre-check in plain words, then the materials and the sending, answered with the case number
and the query code — the public register, and the requisition announcements with their objection and hearing
request form."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from shapely.geometry import shape

from gis.check.rules import KINDS
from service.cases import announcements, online, register
from service.cases.boundaries import boundary_from_upload, county_extent
from service.cases.intake import APPLICANT_TYPES
from service.cases.workflow import workflow
from service.core.errors import DomainError, InvalidInput, TooManyAttempts
from service.http.deps import MAX_ID, SessionDep, SettingsDep
from service.http.errors import status_for
from service.http.limits import online_attempt
from service.http.sent_files import material_fields, sent_boundary, sent_materials
from web.i18n import lang_of
from web.map.builder import build_map, render_parts
from web.pages.common import basemap_of, home_bounds, map_layers, page
from web.session import CsrfDep

router = APIRouter(include_in_schema=False)
AnnouncementId = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str, Form(max_length=200)]

FIELDS = (
    "kind",
    "applicant_type",
    "applicant_name",
    "id_number",
    "phone",
    "township",
    "village",
    "household_id",
    "project_name",
    "mineral",
    "depth_top",
    "depth_bottom",
)
"""The application's fields, kept across the pre-check."""


def _frame(boundary: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    """Frame a phone's map on the plot with as much around it again (as the portal does)."""
    if not boundary:
        return None
    x0, y0, x1, y1 = shape(boundary).bounds
    pad = max(x1 - x0, y1 - y0, 0.0001) * 0.8
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _map(request: Request, settings: Any, boundary: dict[str, Any] | None, findings: list[dict[str, Any]], draw: bool):
    lang = lang_of(request)
    conflicts = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": f["geometry"], "properties": {"title": f["title"], "status": f["status"]}}
            for f in sorted(findings, key=lambda f: f["status"] == "block")
            if f.get("geometry")
        ],
    }
    m = build_map(
        map_layers(lang),
        bounds=_frame(boundary),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        boundary=boundary,
        conflicts=conflicts if conflicts["features"] else None,
        draw_field="boundary_geojson" if draw else None,
        measure=False,
        lang=lang,
        home=home_bounds(settings),
    )
    return render_parts(m)


def _form(request: Request, settings: Any, status: int = 200, **ctx: Any) -> Response:
    values = ctx.setdefault("values", {})
    values.setdefault("kind", KINDS[0])
    values.setdefault("apply_token", secrets.token_urlsafe(18))
    pre = ctx.get("precheck")
    context = {
        "nav": "apply",
        "kinds": KINDS,
        "materials": workflow().materials,
        "kind_fields": {k: " ".join(v) for k, v in online.KIND_FIELDS.items()},
        "applicant_types": APPLICANT_TYPES,
        "map": _map(request, settings, pre["boundary"] if pre else None, pre["findings"] if pre else [], draw=True),
        **ctx,
    }
    return page(request, "apply.html", context, status=status)


def _too_many(response: Response, exc: TooManyAttempts) -> Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/apply", response_class=HTMLResponse)
def apply_form(request: Request, settings: SettingsDep) -> Response:
    """The online application: the plot first (drawn on the map or a boundary file), then its pre-check."""
    return _form(request, settings)


def _depth(value: str, label: str, name: str) -> float | None:
    text = value.strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{label}：“{value}”不是数字 / {name}: {value!r} is not a number") from None


def _application(values: dict[str, str]) -> online.OnlineApplication:
    if values["kind"] not in KINDS:
        raise InvalidInput(f"申请类型：未知类型 {values['kind']!r} / kind: unknown kind {values['kind']!r}")
    return online.OnlineApplication(
        kind=values["kind"],
        applicant_name=values["applicant_name"],
        phone=values["phone"],
        applicant_type=values["applicant_type"] or "person",
        id_number=values["id_number"] or None,
        township=values["township"] or None,
        village=values["village"] or None,
        household_id=values["household_id"] or None,
        project_name=values["project_name"] or None,
        mineral=values["mineral"] or None,
        depth_top=_depth(values["depth_top"], "开采标高上", "depth_top"),
        depth_bottom=_depth(values["depth_bottom"], "开采标高下", "depth_bottom"),
        idempotency_key=f"online-form:{values['apply_token']}",
    )


@router.post("/apply", response_class=HTMLResponse)
def apply_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    materials: Annotated[list[tuple[str, UploadFile]], Depends(material_fields)],
    kind: Annotated[str, Form(max_length=20)] = "",
    applicant_type: Annotated[str, Form(max_length=10)] = "person",
    applicant_name: Annotated[str, Form(max_length=100)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    township: Annotated[str, Form(max_length=50)] = "",
    village: Annotated[str, Form(max_length=50)] = "",
    household_id: Annotated[str, Form(max_length=50)] = "",
    project_name: Text = "",
    mineral: Annotated[str, Form(max_length=50)] = "",
    depth_top: Annotated[str, Form(max_length=20)] = "",
    depth_bottom: Annotated[str, Form(max_length=20)] = "",
    apply_token: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form(max_length=10)] = "check",
    boundary_file: Annotated[UploadFile | None, File()] = None,
    boundary_kept: Annotated[str, Form(max_length=40_000_000)] = "",
    boundary_name: Annotated[str, Form(max_length=200)] = "",
    boundary_geojson: Annotated[str, Form(max_length=40_000_000)] = "",
) -> Response:
    """`check`: show the plot's pre-check in plain words and ask for the materials; `send`: open the case (one
    transaction) and show its number and query code."""
    sent_values = dict(locals())
    values = {k: str(sent_values[k]).strip() for k in FIELDS}
    values["apply_token"] = apply_token or secrets.token_urlsafe(18)
    keep: dict[str, str] = {"boundary_kept": boundary_kept, "boundary_name": boundary_name, "boundary_drawn": ""}
    pre: dict[str, Any] | None = None
    try:
        online_attempt(request, "online:apply" if action == "send" else "online:check")
        application = _application(values)
        extent = county_extent(session)
        if boundary_file is not None and boundary_file.filename:
            data = boundary_file.file.read(settings.max_upload_bytes + 1)
            keep = {"boundary_kept": base64.b64encode(data).decode(), "boundary_name": boundary_file.filename}
        if keep["boundary_kept"] and not boundary_geojson.strip():
            try:
                data = base64.b64decode(keep["boundary_kept"], validate=True)
            except ValueError:
                raise InvalidInput(
                    "保留的用地范围文件已损坏，请重新上传 / the kept boundary file is damaged: upload it again"
                ) from None
            name = keep["boundary_name"] or "boundary"
            sent = online.BoundaryFile(name, data, boundary_from_upload(data, name, settings.max_upload_bytes, extent))
        else:
            keep = {"boundary_kept": "", "boundary_name": "", "boundary_drawn": boundary_geojson}
            chosen = sent_boundary(None, boundary_geojson, settings, extent)
            assert chosen is not None
            sent = chosen
        pre = online.precheck(
            session,
            application.kind,
            sent.boundary,
            application.household_id,
            application.depth_top,
            application.depth_bottom,
        )
        if action != "send":
            online.intake_of(application)  # the details are told now, not after the files were chosen
            return _form(request, settings, values=values, precheck=pre, **keep)
        result = online.submit(
            session, application, sent, sent_materials([f for _, f in materials], [c for c, _ in materials])
        )
        session.commit()
    except TooManyAttempts as exc:
        session.rollback()
        return _too_many(_form(request, settings, status=429, values=values, error=exc.message, **keep), exc)
    except DomainError as exc:
        session.rollback()
        return _form(request, settings, status=status_for(exc), values=values, precheck=pre, error=exc.message, **keep)
    case = result.case
    context = {
        "nav": "apply",
        "case_no": case.case_no,
        "query_code": result.query_code,
        "created": result.created,
        "kind": case.kind,
        "submitted_at": case.submitted_at,
        "status": case.status,
    }
    return page(request, "apply_done.html", context, status=201 if result.created else 200)


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    township: Annotated[str | None, Query(max_length=50)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    """The public register: the cases received (the applicant's name masked), their state and decisions, and the
    requisition announcements."""
    kind = kind if kind in KINDS else None
    size = 50
    listing = register.public_register(session, kind, township or None, None, size, (page_no - 1) * size)
    context = {
        "nav": "register",
        "listing": listing,
        "kinds": KINDS,
        "kind": kind,
        "township": township,
        "townships": register.townships(session),
        "page_no": page_no,
        "pages": max(1, -(-listing["total"] // size)),
        "announcements": announcements.public_announcements(session, limit=20),
    }
    return page(request, "register.html", context)


def _announcement(
    request: Request, session: Any, settings: Any, announcement_id: int, status: int = 200, **ctx: Any
) -> Response:
    a = announcements.public_announcement(session, announcement_id)
    titles = {k: announcements.response_title(k, lang_of(request)) for k in a["accepts"]}
    context = {"nav": "register", "a": a, "titles": titles, "map": _map(request, settings, a["boundary"], [], False)}
    return page(request, "announcement.html", {**context, **ctx}, status=status)


@router.get("/announcements/{announcement_id}", response_class=HTMLResponse)
def announcement_page(
    announcement_id: AnnouncementId, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """An announcement with the land's map, its dates, and while it is open the objection / hearing request form."""
    return _announcement(request, session, settings, announcement_id)


@router.post("/announcements/{announcement_id}/respond", response_class=HTMLResponse)
def announcement_respond(
    announcement_id: AnnouncementId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    kind: Annotated[str, Form(max_length=20)] = "objection",
    name: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    content: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record an objection or a hearing request; the window answers it before the case's next step."""
    sent = {"kind": kind, "name": name, "phone": phone, "content": content}
    try:
        online_attempt(request, "online:respond")
        announcements.respond(session, announcement_id, kind, name, phone, content)
        session.commit()
    except TooManyAttempts as exc:
        session.rollback()
        response = _announcement(request, session, settings, announcement_id, 429, error=exc.message, sent=sent)
        return _too_many(response, exc)
    except DomainError as exc:
        session.rollback()
        return _announcement(request, session, settings, announcement_id, status_for(exc), error=exc.message, sent=sent)
    return _announcement(request, session, settings, announcement_id, 201, flash="announcement_response_sent")
