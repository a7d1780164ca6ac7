"""The online window (网上申报): an applicant without an account sends an application with its plot (drawn or a
boundary file) and its materials, after seeing the one-map pre-check in plain words, and gets a case number and a
query code; the case waits in workflow.toml's [online] state until a clerk takes it in (the statutory clock starts)
or refuses it with a reason. Later the applicant answers the one-time notice online (each missing material, a
corrected boundary) and the clerk confirms it (the clocks resume) or asks again.

Everything one sending writes — the case, its checklist, its files, its boundary and check, the audit entries, the
text messages — is written in one transaction after every part of it has been checked: a refused or failed sending
leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.catalog import STORAGE_SRID
from gis.crs import m2_to_mu, planar_area_m2
from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.applicants import find_by_query_code
from service.cases.boundaries import BoundaryInput, apply_boundary
from service.cases.checking import preview_check
from service.cases.intake import APPLICANT_TYPES, Intake, IntakeResult, check_applicant, open_case
from service.cases.notices import latest_notice, one_time_notice
from service.cases.places import places_of
from service.cases.records import bump, locked_case
from service.cases.transitions import take
from service.cases.uploads import CheckedFile, SentFile, check_materials, clean_filename, store
from service.cases.views import findings_in_plain_words, notice_is_current
from service.cases.workflow import workflow
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput
from service.core.models import Case, CaseUpload
from service.core.tables import read_table
from service.notify.messages import is_mobile, tell

KIND_FIELDS = {
    "household_id": ("homestead",),
    "project_name": ("requisition", "mining"),
    "mineral": ("mining",),
    "depth_top": ("mining",),
    "depth_bottom": ("mining",),
}
"""The fields that belong to some kinds only (the others are dropped from an application of another kind)."""


@dataclass
class OnlineApplication:
    """What an applicant fills in online (no green channel, no materials ticked: the window checks the files)."""

    kind: str
    applicant_name: str
    phone: str
    applicant_type: str = "person"
    id_number: str | None = None
    township: str | None = None
    village: str | None = None
    household_id: str | None = None
    project_name: str | None = None
    mineral: str | None = None
    depth_top: float | None = None
    depth_bottom: float | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class BoundaryFile:
    """The boundary as the applicant sent it (a file, or the drawn GeoJSON) and as it was read."""

    filename: str
    data: bytes
    boundary: BoundaryInput


@cache
def precheck_texts() -> dict[str, dict[str, str]]:
    """Return the pre-check's summaries per verdict (service/data/online.toml [precheck])."""
    return dict(read_table("online.toml")["precheck"])


def precheck(
    session: Session,
    kind: str,
    boundary: BoundaryInput,
    household_id: str | None = None,
    depth_top: float | None = None,
    depth_bottom: float | None = None,
) -> dict[str, Any]:
    """Return the one-map pre-check of a plot in plain words: the verdict's summary, the findings as the rules word
    them, the plot's area and where it lies; nothing is stored."""
    workflow().kind(kind)
    report = preview_check(
        session, kind, boundary.geometry, household_id or None, depth_top=depth_top, depth_bottom=depth_bottom
    ).to_dict()
    places = places_of(session, boundary.geometry)
    area = planar_area_m2(boundary.geometry)
    summary = precheck_texts()[report["verdict"]]
    return {
        "kind": kind,
        "verdict": report["verdict"],
        "summary": summary["zh"],
        "summary_en": summary["en"],
        "findings": findings_in_plain_words(report),
        "area_m2": area,
        "area_mu": m2_to_mu(area),
        "township": places.township,
        "village": places.village,
        "boundary": dict(mapping(boundary.geometry)),
        "warnings": boundary.source.get("warnings", []),
    }


def _text(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


def intake_of(application: OnlineApplication) -> Intake:
    """Return the intake of an application sent online, refusing what cannot be right (naming the field, 中文 /
    English): a missing name, a phone that cannot receive text messages, a wrong ID number, depths the wrong way."""
    a = application
    workflow().kind(a.kind)
    if a.applicant_type not in APPLICANT_TYPES:
        raise InvalidInput(
            f"申请人类型：应为个人或单位 / applicant_type must be person or unit (got {a.applicant_type!r})"
        )
    if not (a.applicant_name or "").strip():
        raise InvalidInput("申请人：请填写申请人姓名或单位名称 / applicant_name: the applicant's name is missing")
    phone = (a.phone or "").strip().replace(" ", "").replace("-", "")
    if not is_mobile(phone):
        raise InvalidInput(
            f"手机号码：{a.phone!r} 不是有效的手机号码（11位，以1开头），窗口将用短信告知办理进展 / phone: "
            f"{a.phone!r} is not a mobile number (11 digits starting with 1); the window tells you by text message"
        )

    def only(field: str, value: Any) -> Any:
        return value if a.kind in KIND_FIELDS[field] else None

    intake = Intake(
        kind=a.kind,
        applicant_name=a.applicant_name.strip(),
        applicant_type=a.applicant_type,
        id_number=(_text(a.id_number) or "").upper() or None,
        phone=phone,
        township=_text(a.township),
        village=_text(a.village),
        household_id=only("household_id", _text(a.household_id)),
        project_name=only("project_name", _text(a.project_name)),
        mineral=only("mineral", _text(a.mineral)),
        depth_top=only("depth_top", a.depth_top),
        depth_bottom=only("depth_bottom", a.depth_bottom),
        idempotency_key=a.idempotency_key,
    )
    check_applicant(vars(intake))
    return intake


def _material_codes(kind: str) -> set[str]:
    return {m.code for m in workflow().materials[kind]}


def _boundary_upload(
    case: Case, sent: BoundaryFile, purpose: str, status: str, notice_id: int | None = None
) -> CaseUpload:
    return CaseUpload(
        case_id=case.id,
        notice_id=notice_id,
        purpose=purpose,
        material_code=None,
        filename=clean_filename(sent.filename),
        media_type="application/geo+json" if sent.filename.endswith(".geojson") else "application/octet-stream",
        size=len(sent.data),
        sha256=hashlib.sha256(sent.data).hexdigest(),
        data=sent.data,
        geom=from_shape(sent.boundary.geometry, srid=STORAGE_SRID),
        boundary_source=sent.boundary.source,
        status=status,
    )


def drawn_file(geojson: dict[str, Any] | str, boundary: BoundaryInput) -> BoundaryFile:
    """Return a boundary drawn on the map as the file it is kept as (GeoJSON)."""
    text = geojson if isinstance(geojson, str) else json.dumps(geojson, ensure_ascii=False)
    return BoundaryFile("drawn.geojson", text.encode("utf-8"), boundary)


def submit(
    session: Session, application: OnlineApplication, boundary: BoundaryFile, materials: Sequence[SentFile]
) -> IntakeResult:
    """Open the case of an application sent online — number, checklist, plot and its check, files, audit, text
    messages — in the session's transaction, once everything was checked. The same idempotency key returns the case
    sent first (without its query code, which only its own answer carried)."""
    intake = intake_of(application)
    checked = check_materials(_material_codes(intake.kind), materials)
    result = open_case(session, None, None, intake, boundary.boundary, online=True)
    if not result.created:
        return result
    case = result.case
    rows = store(session, case, checked, "application")
    session.add(_boundary_upload(case, boundary, "application", "confirmed"))
    session.flush()
    files = [{"id": r.id, "material": r.material_code, "file": r.filename, "sha256": r.sha256} for r in rows]
    audit(session, f"applicant:{case.case_no}", "upload.application", case.id, None, {"files": files})
    return result


def send_supplement(
    session: Session,
    case_no: str,
    query_code: str,
    materials: Sequence[SentFile],
    boundary: BoundaryFile | None,
    at: datetime | None = None,
) -> list[CaseUpload]:
    """Answer the one-time notice online: the missing materials and a corrected boundary, kept for the clerk to
    confirm (nothing on the case changes until then); the window is told. 404 for a wrong number or code, 409 when
    no notice asks for anything now."""
    at = at or records.now()
    case = find_by_query_code(session, case_no, query_code)
    notice = latest_notice(session, case)
    if notice is None or not notice_is_current(case, notice) or case.status != "awaiting_supplement":
        raise Conflict(
            "该案件目前没有需要补正的告知书 / no one-time notice asks this case for anything now",
            state=case.status,
        )
    if not materials and boundary is None:
        raise InvalidInput(
            "补正：请上传告知书要求的材料或更正后的用地范围 / supplement: upload the materials the notice asks for or "
            "the corrected boundary"
        )
    checked: list[CheckedFile] = check_materials({m.code for m in case.materials}, materials)
    case = locked_case(session, case.id, None)
    rows = store(session, case, checked, "supplement", notice.id)
    if boundary is not None:
        rows.append(_boundary_upload(case, boundary, "supplement", "received", notice.id))
        session.add(rows[-1])
        session.flush()
    files = [{"id": r.id, "material": r.material_code, "file": r.filename, "sha256": r.sha256} for r in rows]
    audit(session, f"applicant:{case.case_no}", "supplement.upload", case.id, None, {"files": files})
    tell(session, "supplement_sent", case, f"supplement:{rows[0].id}")
    return rows


def pending_supplement(session: Session, case: Case) -> list[CaseUpload]:
    """Return the files sent online answering the notice that the clerk has not confirmed or returned yet."""
    return list(
        session.scalars(
            select(CaseUpload)
            .where(CaseUpload.case_id == case.id, CaseUpload.purpose == "supplement", CaseUpload.status == "received")
            .order_by(CaseUpload.id)
        )
    )


def _waiting(session: Session, case: Case) -> list[CaseUpload]:
    waiting = pending_supplement(session, case)
    if not waiting:
        raise Conflict("申请人没有待确认的网上补正 / the applicant has sent no supplement waiting for confirmation")
    return waiting


def confirm_supplement(
    session: Session, actor: Principal, case_id: int, version: int, at: datetime | None = None
) -> Case:
    """Confirm the supplement sent online: the materials it answers are received, a corrected boundary replaces the
    case's (its check runs again), and the case moves on (`supplement_received`: the clocks resume) — one
    transaction, audited."""
    permissions.require(actor, "case.supplement")
    at = at or records.now()
    case = locked_case(session, case_id, version)
    waiting = _waiting(session, case)
    codes = {u.material_code for u in waiting if u.material_code}
    before = {m.code: m.received for m in case.materials}
    for m in case.materials:
        if m.code in codes and not m.received:
            m.received, m.received_at = True, at
    if codes:
        audit(session, actor.actor, "case.materials", case.id, before, {m.code: m.received for m in case.materials})
    corrected = [u for u in waiting if u.geom is not None]
    if corrected:
        last = corrected[-1]
        geometry = cast(MultiPolygon, to_shape(last.geom))  # stored as a MULTIPOLYGON
        apply_boundary(session, actor.actor, case, BoundaryInput(geometry, dict(last.boundary_source or {})))
    for u in waiting:
        u.status, u.handled_by, u.handled_at = "confirmed", actor.user_id, at
    audit(session, actor.actor, "supplement.confirm", case.id, None, {"uploads": [u.id for u in waiting]})
    return take(session, actor.actor, actor.role, case, "supplement_received", None, at)


def return_supplement(
    session: Session, actor: Principal, case_id: int, version: int, reason: str, at: datetime | None = None
) -> Case:
    """Ask again: the supplement sent online is returned with the clerk's reason and a new one-time notice tells the
    applicant what is still missing (the clocks stay paused). Audited."""
    permissions.require(actor, "case.supplement")
    if not reason or not reason.strip():
        raise InvalidInput(
            "再次告知：请写明补正材料不能确认的原因 / ask again: say why the supplement cannot be confirmed"
        )
    at = at or records.now()
    case = locked_case(session, case_id, version)
    waiting = _waiting(session, case)
    for u in waiting:
        u.status, u.note, u.handled_by, u.handled_at = "returned", reason.strip(), actor.user_id, at
    audit(
        session,
        actor.actor,
        "supplement.return",
        case.id,
        None,
        {"uploads": [u.id for u in waiting]},
        detail=reason.strip(),
    )
    one_time_notice(session, actor, case.id, note=reason.strip())
    bump(case)
    session.flush()
    return case
