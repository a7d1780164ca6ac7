"""Taking an application in at the window: its number, checklist, boundary and check, clocks — one transaction —
and the materials received afterwards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal, hash_query_code, new_query_code, session_code_key
from service.cases import records
from service.cases.boundaries import BoundaryInput, apply_boundary
from service.cases.checking import run_case_check
from service.cases.records import bump, locked_case, require_editable
from service.cases.workflow import workflow
from service.clocks import case_clocks as clocks
from service.core.audit import audit, snapshot
from service.core.errors import Conflict, InvalidInput
from service.core.models import Case, CaseMaterial
from service.core.personal import valid_credit_code, valid_phone, valid_resident_id
from service.core.settings import session_settings
from service.notify.messages import tell


@dataclass
class Intake:
    """What the clerk takes in at the window."""

    kind: str
    applicant_name: str
    applicant_type: str = "person"
    id_number: str | None = None
    phone: str | None = None
    township: str | None = None
    village: str | None = None
    household_id: str | None = None
    project_name: str | None = None
    industry: str | None = None
    company: str | None = None
    mineral: str | None = None
    depth_top: float | None = None
    depth_bottom: float | None = None
    green_channel: bool = False
    materials_received: Sequence[str] = ()
    idempotency_key: str | None = None


@dataclass
class IntakeResult:
    """The created (or, for a repeated client key, the existing) case and its receipt's query code."""

    case: Case
    query_code: str | None
    created: bool


APPLICANT_FIELDS = (
    "applicant_name",
    "applicant_type",
    "id_number",
    "phone",
    "township",
    "village",
    "household_id",
    "project_name",
    "industry",
    "company",
    "mineral",
    "depth_top",
    "depth_bottom",
)
"""The applicant's details a clerk may correct while the paperwork is open (workflow.toml [paperwork])."""

RECHECK_FIELDS = ("household_id", "depth_top", "depth_bottom")
"""Details the one-map check reads (一户一宅, mining depths): changing one re-runs the check."""

APPLICANT_TYPES = {"person": ("个人", "person"), "unit": ("单位", "unit")}


def check_applicant(values: Mapping[str, Any]) -> None:
    """Refuse details that cannot be right, naming the field (中文 / English): the name, the ID number or credit
    code by its check digit, the phone number, the mining depths."""
    name = values.get("applicant_name")
    if name is not None and not str(name).strip():
        raise InvalidInput("申请人：请填写申请人姓名或单位名称 / applicant_name: the applicant's name is missing")
    kind = values.get("applicant_type") or "person"
    if kind not in APPLICANT_TYPES:
        raise InvalidInput(f"申请人类型：应为个人或单位 / applicant_type must be person or unit (got {kind!r})")
    number = values.get("id_number")
    if number:
        if kind == "person" and not valid_resident_id(number):
            raise InvalidInput(
                f"身份证号：{number} 校验不通过，请核对 / id_number: {number} is not a valid resident ID number "
                "(check digit)"
            )
        if kind == "unit" and not valid_credit_code(number):
            raise InvalidInput(
                f"统一社会信用代码：{number} 校验不通过，请核对 / id_number: {number} is not a valid unified social "
                "credit code"
            )
    phone = values.get("phone")
    if phone and not valid_phone(phone):
        raise InvalidInput(f"电话：{phone} 不是有效的手机或固定电话号码 / phone: {phone} is not a valid phone number")
    top, bottom = values.get("depth_top"), values.get("depth_bottom")
    if top is not None and bottom is not None and float(top) <= float(bottom):
        raise InvalidInput(
            f"开采标高：上限 {top:g} 米须高于下限 {bottom:g} 米 / depth: the top ({top:g} m) must be above the bottom "
            f"({bottom:g} m)"
        )


def _next_number(session: Session, kind: str, year: int) -> str:
    # The counter row's lock serialises concurrent intakes of a kind and year; a rolled-back intake rolls
    # its number back too, so numbers stay gap-free.
    seq = session.execute(
        text(
            "INSERT INTO case_counters (kind, year, last) VALUES (:kind, :year, 1) "
            "ON CONFLICT (kind, year) DO UPDATE SET last = case_counters.last + 1 RETURNING last"
        ),
        {"kind": kind, "year": year},
    ).scalar_one()
    return workflow().case_number(kind, year, int(seq), session_settings(session).profile.case_prefix)


def _existing(session: Session, key: str | None) -> Case | None:
    return session.scalar(select(Case).where(Case.idempotency_key == key)) if key else None


def create_case(
    session: Session, actor: Principal, intake: Intake, boundary: BoundaryInput | None = None
) -> IntakeResult:
    """Take in an application: number, materials checklist, boundary and its check, clocks, audit — one transaction."""
    permissions.require(actor, "case.create")
    return open_case(session, actor.actor, actor.user_id, intake, boundary, county=actor.county)


def open_case(
    session: Session,
    actor: str | None,
    received_by: int | None,
    intake: Intake,
    boundary: BoundaryInput | None = None,
    online: bool = False,
    county: str | None = None,
) -> IntakeResult:
    """Open a case: number, checklist, boundary and its check, clocks, audit and the applicant's text message, in the
    session's transaction. Taken in at the window, or sent `online` (then it waits in workflow.toml's [online] state,
    its clocks not started, `actor` None: the applicant, named by the case number). The case is lodged in `county`
    (the clerk's), else the profile's."""
    wf = workflow()
    wf.kind(intake.kind)
    existing = _existing(session, intake.idempotency_key)
    if existing is not None:
        return IntakeResult(existing, None, created=False)
    check_applicant(vars(intake))
    known = {m.code for m in wf.materials[intake.kind]}
    unknown = [c for c in intake.materials_received if c not in known]
    if unknown:
        raise InvalidInput(f"未知材料 unknown materials: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if intake.green_channel and intake.kind != "requisition":
        raise InvalidInput(
            "绿色通道仅适用于工业项目用地 / the green channel is for industrial requisition projects only"
        )
    started = records.now()
    code = new_query_code()
    code_hash = hash_query_code(code, session_code_key(session))  # before the counter's lock: nothing slow under it
    case_no = _next_number(session, intake.kind, started.astimezone(clocks.LOCAL_TZ).year)
    # the lodging time is taken under the counter's lock: concurrent intakes of a kind are lodged in the order of
    # their numbers, and each sees every earlier one (first come, first served is by lodging time)
    received_at = records.now()
    status = wf.online_state if online and wf.online_state else "received"
    case = Case(
        case_no=case_no,
        kind=intake.kind,
        county=county or session_settings(session).profile.admin_code,
        status=status,
        version=1,
        idempotency_key=intake.idempotency_key,
        applicant_name=intake.applicant_name,
        applicant_type=intake.applicant_type,
        id_number=intake.id_number,
        phone=intake.phone,
        township=intake.township,
        village=intake.village,
        household_id=intake.household_id,
        project_name=intake.project_name,
        industry=intake.industry,
        company=intake.company,
        mineral=intake.mineral,
        depth_top=intake.depth_top,
        depth_bottom=intake.depth_bottom,
        green_channel=intake.green_channel,
        channel="online" if online else "window",
        submitted_at=received_at if online else None,
        query_code_hash=code_hash,
        received_at=received_at,
        state_entered_at=received_at,
        received_by=received_by,
        boundary_source={},
    )
    session.add(case)
    for i, m in enumerate(wf.materials[intake.kind]):
        got = m.code in intake.materials_received
        material = CaseMaterial(
            code=m.code,
            name=m.name,
            position=i,
            required=m.required,
            received=got,
            received_at=received_at if got else None,
        )
        case.materials.append(material)
    try:
        session.flush()
    except IntegrityError as exc:
        # the same client key raced us: the other intake won; return its case
        session.rollback()
        existing = _existing(session, intake.idempotency_key)
        if existing is not None:
            return IntakeResult(existing, None, created=False)
        raise Conflict("重复收件 / duplicate intake") from exc
    if online:  # not on the one map until the window takes it in (workflow.toml: its state's `map`)
        case.on_map = wf.on_map(status, None)
    who = actor or f"applicant:{case.case_no}"
    audit(session, who, "case.create", case.id, None, {**snapshot(case), "channel": case.channel})
    if boundary is not None:
        apply_boundary(session, who, case, boundary)
    clocks.refresh(case, received_at)
    session.flush()
    if online:
        step = clocks.view(case, received_at)["step"]
        due = clocks.local_minute(datetime.fromisoformat(step["due"])) if step else "—"
        tell(session, "submitted_online", case, f"submitted:{case.id}", {"step_due": due})
    else:
        tell(session, "received", case, f"received:{case.id}")
    return IntakeResult(case, code, created=True)


def set_materials(session: Session, actor: Principal, case_id: int, version: int, received: Sequence[str]) -> Case:
    """Tick the materials received so far (the full list of received codes), while the paperwork is open."""
    permissions.require(actor, "case.materials")
    case = locked_case(session, case_id, version)
    require_editable(case, "材料", "the materials")
    codes = {m.code for m in case.materials}
    unknown = set(received) - codes
    if unknown:
        raise InvalidInput(f"未知材料 unknown materials: {', '.join(sorted(unknown))}")
    before = {m.code: m.received for m in case.materials}
    at = records.now()
    for m in case.materials:
        got = m.code in received
        if got and not m.received:
            m.received_at = at
        m.received = got
    bump(case)
    audit(session, actor.actor, "case.materials", case.id, before, {m.code: m.received for m in case.materials})
    return case


def _typed(field: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    return text if text or field == "applicant_name" else None


def update_applicant(
    session: Session, actor: Principal, case_id: int, version: int, changes: Mapping[str, Any]
) -> Case:
    """Correct the applicant's details while the paperwork is open; the check runs again when it reads a changed
    detail (household, depths). Audited with the fields before and after."""
    permissions.require(actor, "case.applicant")
    unknown = sorted(set(changes) - set(APPLICANT_FIELDS))
    if unknown:
        raise InvalidInput(f"未知字段 unknown fields: {', '.join(unknown)}; known: {', '.join(APPLICANT_FIELDS)}")
    case = locked_case(session, case_id, version)
    require_editable(case, "申请人信息", "the applicant's details")
    # typed text is trimmed and an emptied field cleared (None); numbers stay as they are, 0 m of depth included
    clean = {k: _typed(k, v) for k, v in changes.items()}
    if "id_number" in clean and clean["id_number"]:
        clean["id_number"] = str(clean["id_number"]).upper()
    merged = {f: getattr(case, f) for f in APPLICANT_FIELDS} | clean
    check_applicant(merged)
    changed = {k: v for k, v in clean.items() if getattr(case, k) != v}
    if not changed:
        return case
    before = {k: getattr(case, k) for k in changed}
    for k, v in changed.items():
        setattr(case, k, v)
    source = dict(case.boundary_source or {})
    if source.get("places_from_map"):  # a place the clerk now types is theirs, no longer the map's
        source["places_from_map"] = [f for f in source["places_from_map"] if f not in changed]
        case.boundary_source = source
    bump(case)
    session.flush()
    audit(session, actor.actor, "case.applicant", case.id, before, changed)
    if case.geom is not None and set(changed) & set(RECHECK_FIELDS):
        run_case_check(session, case, actor.actor, trigger="applicant")
    return case
