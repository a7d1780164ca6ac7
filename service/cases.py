"""The case workflow: intake, boundary and check in one transaction, transitions, review, notices, ratings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.catalog import STORAGE_SRID
from gis.check import CheckRequest, PendingApplication, run_check
from gis.check.engine import run_check_batch
from gis.crs import planar_area_m2
from service import clocks
from service.audit import audit, snapshot
from service.auth import Principal, hash_query_code, new_query_code, session_code_key, verify_query_code
from service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from service.models import Case, CaseMaterial, CasePause, CheckRun, Notice, Rating, ReviewTask
from service.workflow import IN_REVIEW, REVIEW, Transition, workflow

OPEN_STATES = ("received", "awaiting_supplement", "pre_announcement", "in_review", "compensation_announcement",
               "leader_approval", "submitted_higher")  # fmt: skip
DECIDED_STATES = ("approved", "rejected", "refused", "certified", "archived")
SYSTEM = "system"


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
class BoundaryInput:
    """A case boundary in EPSG:4490 with where it came from (format, file, warnings)."""

    geometry: MultiPolygon
    source: dict[str, Any] = field(default_factory=dict)


@dataclass
class IntakeResult:
    """The created (or, for a repeated client key, the existing) case and its receipt's query code."""

    case: Case
    query_code: str | None
    created: bool


def now() -> datetime:
    """Return the current time (UTC, zone-aware)."""
    return datetime.now(UTC)


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
    return workflow().case_number(kind, year, int(seq))


def get_case(session: Session, case_id: int, lock: bool = False) -> Case:
    """Return a case by id, or raise NotFound."""
    # populate_existing: a case already loaded in this session (an access check) must take the locked row's values,
    # or a second writer that waited on the lock would still see the version it read before
    case = session.get(Case, case_id, with_for_update=lock or None, populate_existing=lock)
    if case is None:
        raise NotFound(f"案件不存在 / case {case_id} not found")
    return case


def create_case(session: Session, actor: Principal, intake: Intake, boundary: BoundaryInput | None = None) -> IntakeResult:
    """Take in an application: number, materials checklist, boundary and its check, clocks, audit — one transaction."""
    if actor.role not in ("clerk", "admin"):
        raise PermissionDenied("只有窗口受理人员可以收件 / only window clerks take in applications")
    wf = workflow()
    wf.kind(intake.kind)
    if intake.idempotency_key:
        existing = session.scalar(select(Case).where(Case.idempotency_key == intake.idempotency_key))
        if existing is not None:
            return IntakeResult(existing, None, created=False)
    known = {m.code for m in wf.materials[intake.kind]}
    unknown = [c for c in intake.materials_received if c not in known]
    if unknown:
        raise InvalidInput(f"未知材料 unknown materials: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if intake.green_channel and intake.kind != "requisition":
        raise InvalidInput("绿色通道仅适用于工业项目用地 / the green channel is for industrial requisition projects only")
    received_at = now()
    code = new_query_code()
    code_hash = hash_query_code(code, session_code_key(session))  # before the counter's lock: nothing slow under it
    case = Case(
        case_no=_next_number(session, intake.kind, received_at.astimezone(clocks.LOCAL_TZ).year),
        kind=intake.kind,
        status="received",
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
        query_code_hash=code_hash,
        received_at=received_at,
        state_entered_at=received_at,
        received_by=actor.user_id,
        boundary_source={},
    )
    session.add(case)
    for i, m in enumerate(wf.materials[intake.kind]):
        got = m.code in intake.materials_received
        case.materials.append(
            CaseMaterial(code=m.code, name=m.name, position=i, required=m.required, received=got,
                         received_at=received_at if got else None)  # fmt: skip
        )
    try:
        session.flush()
    except IntegrityError as exc:
        # the same client key raced us: the other intake won; return its case
        session.rollback()
        if intake.idempotency_key:
            existing = session.scalar(select(Case).where(Case.idempotency_key == intake.idempotency_key))
            if existing is not None:
                return IntakeResult(existing, None, created=False)
        raise Conflict("重复收件 / duplicate intake") from exc
    audit(session, actor.actor, "case.create", case.id, None, snapshot(case))
    if boundary is not None:
        _apply_boundary(session, actor, case, boundary)
    clocks.refresh(case, received_at)
    session.flush()
    return IntakeResult(case, code, created=True)


def _pending_mining(session: Session, case: Case) -> list[PendingApplication]:
    rows = session.execute(
        select(Case.case_no, Case.received_at, func.ST_AsBinary(Case.geom), Case.depth_top, Case.depth_bottom).where(
            Case.kind == "mining",
            Case.id != case.id,
            Case.status.in_(OPEN_STATES),
            Case.geom.is_not(None),
            Case.geom.op("&&")(case.geom),
        )
    ).all()
    return [PendingApplication(r[0], r[1], shapely.from_wkb(bytes(r[2])), r[3], r[4]) for r in rows]


def run_case_check(session: Session, case: Case, actor: str, trigger: str = "boundary") -> CheckRun:
    """Run the one-map check for a case inside the session's transaction and store it as the latest."""
    if case.geom is None:
        raise InvalidInput("案件尚无用地范围 / the case has no boundary yet")
    geometry = to_shape(case.geom)
    req = CheckRequest(
        kind=case.kind,
        geometry=geometry,
        household_id=case.household_id,
        depth_top=case.depth_top,
        depth_bottom=case.depth_bottom,
        lodged_at=case.received_at,
        pending=_pending_mining(session, case) if case.kind == "mining" else (),
    )
    conn = session.connection().connection.driver_connection  # the psycopg connection of this transaction
    report = run_check(conn, req)  # type: ignore[arg-type]
    run = CheckRun(
        case_id=case.id, kind=case.kind, verdict=report.verdict, layer_versions=report.layer_versions,
        report=report.to_dict(), trigger=trigger, created_by=None if actor == SYSTEM else None,
    )  # fmt: skip
    session.add(run)
    session.flush()
    case.latest_check_id = run.id
    audit(session, actor, "check.run", case.id, None, {"check_id": run.id, "verdict": run.verdict, "trigger": trigger})
    return run


def _apply_boundary(session: Session, actor: Principal, case: Case, boundary: BoundaryInput) -> CheckRun:
    geom = boundary.geometry
    if geom.is_empty or not geom.is_valid:
        raise InvalidInput("用地范围无效 / the boundary is empty or invalid")
    before = {"area_m2": case.area_m2, "boundary_source": case.boundary_source}
    case.geom = from_shape(geom, srid=STORAGE_SRID)
    case.area_m2 = planar_area_m2(geom)
    case.boundary_source = boundary.source
    session.flush()
    audit(session, actor.actor, "case.boundary", case.id, before, {"area_m2": case.area_m2, "boundary_source": boundary.source})
    return run_case_check(session, case, actor.actor)


def set_boundary(session: Session, actor: Principal, case_id: int, version: int, boundary: BoundaryInput) -> CheckRun:
    """Set or change a case's boundary; its check runs in the same transaction."""
    if actor.role not in ("clerk", "admin"):
        raise PermissionDenied("只有窗口受理人员可以修改用地范围 / only clerks change a case's boundary")
    case = _locked(session, case_id, version)
    if case.status not in ("received", "awaiting_supplement"):
        raise Conflict(f"案件状态为 {case.status}，不能再修改用地范围 / the boundary can no longer change in state {case.status}")
    run = _apply_boundary(session, actor, case, boundary)
    _bump(case)
    return run


def _locked(session: Session, case_id: int, version: int | None) -> Case:
    case = get_case(session, case_id, lock=True)
    if version is not None and case.version != version:
        raise Conflict(
            f"案件已被他人修改（当前版本 {case.version}，提交版本 {version}）/ the case changed meanwhile "
            f"(current version {case.version}, yours {version}); reload and try again",
            current_version=case.version,
        )
    return case


def _bump(case: Case) -> None:
    case.version += 1
    case.updated_at = now()


def allowed_transitions(case: Case, role: str | None = None) -> list[Transition]:
    """Return the transitions out of the case's state (for a role, when given)."""
    ts = workflow().kind(case.kind).from_state(case.status)
    return [t for t in ts if role is None or role in t.roles]


def latest_check(session: Session, case: Case) -> CheckRun | None:
    """Return the case's latest stored check."""
    return session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None


def _guard_failures(session: Session, case: Case, t: Transition, at: datetime) -> list[str]:
    failures = []
    for g in t.guards:
        if g == "materials_complete":
            missing = [m.name for m in case.materials if m.required and not m.received]
            if missing:
                failures.append("材料不齐 / materials missing: " + "、".join(missing))
        elif g == "boundary_checked":
            if case.geom is None or case.latest_check_id is None:
                failures.append("尚无用地范围或一张图核查 / no boundary or no one-map check yet")
        elif g == "check_not_blocked":
            run = latest_check(session, case)
            if run is not None and run.verdict == "block" and not case.check_override:
                blocking = [r["rule"] for r in run.report["rules"] if r["status"] == "block"]
                failures.append("一张图核查未通过 / the one-map check blocks: " + ", ".join(blocking))
        elif g == "reviews_done":
            open_tasks = [t_.department for t_ in case.tasks if t_.status != "done"]
            if not case.tasks or open_tasks:
                failures.append("并联审查未完成 / review tasks open: " + "、".join(open_tasks))
        elif g == "dwell_working_days":
            spent = clocks.working_days_between(case.state_entered_at, at)
            if spent < t.min_working_days:
                failures.append(
                    f"本环节至少 {t.min_working_days:g} 个工作日，已过 {spent:g} / this step lasts at least "
                    f"{t.min_working_days:g} working days; {spent:g} have passed"
                )
        elif g == "dwell_days":
            days = (at - case.state_entered_at).days
            if days < t.min_days:
                failures.append(f"公告期至少 {t.min_days} 日，已过 {days} 日 / the announcement lasts at least {t.min_days} days; {days} have passed")
        elif g == "needs_higher":
            run = latest_check(session, case)
            if run is None or not run.report.get("approval_level"):
                failures.append("核查报告未给出审批层级 / the check gives no approval level")
    return failures


def transition(
    session: Session, actor: Principal, case_id: int, name: str, version: int, reason: str | None = None,
    at: datetime | None = None,
) -> Case:  # fmt: skip
    """Move a case along its workflow; 409 for an illegal or stale move, 403 for a role that may not."""
    at = at or now()
    case = get_case(session, case_id)
    t = workflow().kind(case.kind).get(name)
    if t is not None and actor.role not in t.roles:
        raise PermissionDenied(f"角色 {actor.role} 不能执行 {t.title} / role {actor.role!r} may not take {name!r} (allowed: {', '.join(t.roles)})")
    case = _locked(session, case_id, version)
    return _take(session, actor.actor, actor.role, case, name, reason, at)


def _take(session: Session, actor: str, role: str, case: Case, name: str, reason: str | None, at: datetime) -> Case:
    wf = workflow().kind(case.kind)
    t = wf.get(name)
    allowed = [x.name for x in allowed_transitions(case)]
    if t is None or case.status not in t.from_states:
        raise Conflict(
            f"当前状态“{workflow().state_titles.get(case.status, case.status)}”不能执行 {name} / "
            f"{name!r} is not allowed from state {case.status!r}",
            allowed=allowed,
        )
    if role != SYSTEM and role not in t.roles:
        raise PermissionDenied(f"角色 {role} 不能执行 {t.title} / role {role!r} may not take {name!r} (allowed: {', '.join(t.roles)})")
    if t.reason_required and not (reason and reason.strip()):
        raise InvalidInput(f"“{t.title}”必须说明理由 / {name!r} needs a reason")
    failures = _guard_failures(session, case, t, at)
    if failures:
        raise Conflict("；".join(failures), allowed=allowed, unmet=failures)
    before = snapshot(case)
    case.status = t.target
    case.state_entered_at = at
    if t.to == REVIEW:
        session.add(ReviewTask(case_id=case.id, department=wf.review_lead, lead=True))
        for dept in wf.review_co:
            session.add(ReviewTask(case_id=case.id, department=dept, lead=False))
    if t.clock == "pause":
        session.add(CasePause(case_id=case.id, paused_at=at, reason=reason))
    elif t.clock == "resume":
        for p in case.pauses:
            if p.resumed_at is None:
                p.resumed_at = at
    if t.decides:
        case.decided_at = at
    _bump(case)
    session.flush()
    session.refresh(case)
    clocks.refresh(case, at)
    audit(session, actor, f"transition.{name}", case.id, before, snapshot(case), detail=reason)
    session.flush()
    return case


def complete_task(
    session: Session, actor: Principal, case_id: int, task_id: int, version: int, result: str, opinion: str
) -> Case:
    """Record a department's review opinion; when the last task is done the case moves on by itself."""
    if result not in ("agree", "disagree"):
        raise InvalidInput("审查结论须为 agree 或 disagree / result must be 'agree' or 'disagree'")
    if not opinion.strip():
        raise InvalidInput("请填写审查意见 / the opinion is empty")
    task = session.get(ReviewTask, task_id)
    if task is None or task.case_id != case_id:
        raise NotFound(f"审查任务不存在 / review task {task_id} not found on this case")
    if actor.role != "admin" and not (actor.role == "reviewer" and actor.department == task.department):
        raise PermissionDenied(f"该任务属于{task.department} / this task belongs to {task.department}")
    case = _locked(session, case_id, version)
    if task.status == "done" or case.status != IN_REVIEW:
        raise Conflict("审查任务已完成或案件不在审查环节 / the task is done or the case is not in review")
    before = {"task": task.id, "status": task.status}
    task.status, task.result, task.opinion, task.done_by, task.done_at = "done", result, opinion, actor.user_id, now()
    _bump(case)
    session.flush()
    audit(session, actor.actor, "review.done", case.id, before, {"task": task.id, "department": task.department,
                                                                   "result": result, "opinion": opinion})  # fmt: skip
    if all(t.status == "done" for t in case.tasks):
        follow = next((t for t in allowed_transitions(case) if "reviews_done" in t.guards), None)
        if follow is not None:
            _take(session, SYSTEM, SYSTEM, case, follow.name, None, now())
    return case


def set_materials(session: Session, actor: Principal, case_id: int, version: int, received: Sequence[str]) -> Case:
    """Tick the materials received so far (the full list of received codes)."""
    if actor.role not in ("clerk", "admin"):
        raise PermissionDenied("只有窗口受理人员可以登记材料 / only clerks record materials")
    case = _locked(session, case_id, version)
    codes = {m.code for m in case.materials}
    unknown = set(received) - codes
    if unknown:
        raise InvalidInput(f"未知材料 unknown materials: {', '.join(sorted(unknown))}")
    before = {m.code: m.received for m in case.materials}
    at = now()
    for m in case.materials:
        got = m.code in received
        if got and not m.received:
            m.received_at = at
        m.received = got
    _bump(case)
    audit(session, actor.actor, "case.materials", case.id, before, {m.code: m.received for m in case.materials})
    return case


def override_block(session: Session, actor: Principal, case_id: int, version: int, reason: str) -> Case:
    """Let a leader lift a blocking map finding for a narrow legal exception, with the reason on record."""
    if actor.role not in ("leader", "admin"):
        raise PermissionDenied("只有领导可以作出例外决定 / only a leader may override a blocking finding")
    if not reason.strip():
        raise InvalidInput("例外决定必须说明理由 / an override needs a reason")
    case = _locked(session, case_id, version)
    before = {"check_override": case.check_override}
    case.check_override = reason.strip()
    _bump(case)
    audit(session, actor.actor, "check.override", case.id, before, {"check_override": case.check_override}, detail=reason)
    return case


def one_time_notice(session: Session, actor: Principal, case_id: int) -> Notice:
    """Issue the one-time notice: every missing material and every blocking or warning map finding, at once."""
    case = get_case(session, case_id)
    run = latest_check(session, case)
    findings = []
    if run is not None:
        for r in run.report["rules"]:
            if r["status"] in ("block", "warn"):
                findings.append(
                    {k: r[k] for k in ("rule", "title", "layer", "layer_version", "status", "overlap_m2", "overlap_mu",
                                       "message", "message_en", "basis")}  # fmt: skip
                )
    content: dict[str, Any] = {
        "case_no": case.case_no,
        "kind": case.kind,
        "applicant_name": case.applicant_name,
        "issued_at": now().isoformat(),
        "issued_by": actor.username,
        "missing_materials": [{"code": m.code, "name": m.name} for m in case.materials if m.required and not m.received],
        "findings": findings,
        "check_id": run.id if run else None,
        "layer_versions": run.layer_versions if run else {},
        "boundary_missing": case.geom is None,
    }
    notice = Notice(case_id=case.id, content=content, created_by=actor.user_id)
    session.add(notice)
    session.flush()
    audit(session, actor.actor, "notice.issue", case.id, None, {"notice_id": notice.id,
          "missing": [m["code"] for m in content["missing_materials"]], "findings": [f["rule"] for f in findings]})  # fmt: skip
    return notice


def find_by_query_code(session: Session, case_no: str, query_code: str) -> Case:
    """Return the applicant's own case; the same 404 for a wrong number or a wrong code."""
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    if case is None or not verify_query_code(case.query_code_hash, query_code.strip().upper(), session_code_key(session)):
        raise NotFound("案件编号或查询码不正确 / wrong case number or query code")
    return case


def rate(session: Session, case_no: str, query_code: str, stars: int, comment: str | None) -> Rating:
    """Record the applicant's star rating of a decided case, once."""
    case = find_by_query_code(session, case_no, query_code)
    if case.status not in DECIDED_STATES:
        raise Conflict("案件办结后才能评价 / a case can be rated once it is decided")
    if not 1 <= stars <= 5:
        raise InvalidInput("评价为1–5星 / stars must be 1–5")
    if session.scalar(select(Rating).where(Rating.case_id == case.id)) is not None:
        raise Conflict("该案件已评价 / this case has been rated already")
    rating = Rating(case_id=case.id, clerk_id=case.received_by, stars=stars, comment=(comment or "").strip() or None)
    session.add(rating)
    session.flush()
    audit(session, f"applicant:{case.case_no}", "rating.create", case.id, None, {"stars": stars})
    return rating


@dataclass
class RecheckChange:
    """A case whose verdict differs on today's map."""

    case_id: int
    case_no: str
    before: str | None
    after: str


PARALLEL_BATCH_FROM = 200
"""A recheck batch of at least this many cases is split over two connections (the server's cores work at once)."""


def _batch_in_parallel(session: Session, conn: Any, kind: str, requests: dict[int, CheckRequest]) -> dict[int, Any]:
    """Check a batch of stored boundaries, half of it on a second pooled connection when the batch is large."""
    bind = session.get_bind()
    if len(requests) < PARALLEL_BATCH_FROM or not isinstance(bind, Engine):
        return run_check_batch(conn, kind, requests)
    ids = list(requests)
    first, second = {i: requests[i] for i in ids[: len(ids) // 2]}, {i: requests[i] for i in ids[len(ids) // 2 :]}

    def other_half() -> dict[int, Any]:
        with bind.connect() as other:
            return run_check_batch(other.connection.driver_connection, kind, second)  # type: ignore[arg-type]

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(other_half)
        reports = run_check_batch(conn, kind, first)
        theirs = pending.result()
    versions = {json.dumps(r.layer_versions, sort_keys=True) for r in (*reports.values(), *theirs.values())}
    # the other connection sees only committed cases, and a re-import may land between the halves: what it
    # missed, or all of it when the layer versions differ, is checked again on this transaction's connection
    redo = {i: r for i, r in second.items() if i not in theirs or len(versions) > 1}
    reports.update({i: r for i, r in theirs.items() if i not in redo})
    if redo:
        reports.update(run_check_batch(conn, kind, redo))
    return reports


def recheck_open_cases(session: Session, actor: str = SYSTEM) -> tuple[int, list[RecheckChange]]:
    """Re-run the check of every open case with a boundary against today's layers; return the changed verdicts.

    Homestead and requisition cases are checked in one statement per kind; mining cases one by one, since each
    is weighed against the applications lodged before it.
    """
    cases = session.scalars(
        select(Case).where(Case.status.in_(OPEN_STATES), Case.geom.is_not(None)).order_by(Case.id)
    ).all()
    before = {
        r.case_id: r.verdict
        for r in session.scalars(select(CheckRun).where(CheckRun.id.in_([c.latest_check_id for c in cases if c.latest_check_id])))
    }
    conn = session.connection().connection.driver_connection
    reports: dict[int, Any] = {}
    by_kind: dict[str, dict[int, CheckRequest]] = {}
    for case in cases:
        if case.kind == "mining":
            continue
        by_kind.setdefault(case.kind, {})[case.id] = CheckRequest(
            kind=case.kind, geometry=MultiPolygon(), household_id=case.household_id, lodged_at=case.received_at
        )
    for kind, requests in by_kind.items():
        reports.update(_batch_in_parallel(session, conn, kind, requests))
    runs = [
        CheckRun(case_id=cid, kind=rep.kind, verdict=rep.verdict, layer_versions=rep.layer_versions,
                 report=rep.to_dict(), trigger="recheck")
        for cid, rep in reports.items()
    ]  # fmt: skip
    session.add_all(runs)
    session.flush()
    by_id = {c.id: c for c in cases}
    for run in runs:
        assert run.case_id is not None
        by_id[run.case_id].latest_check_id = run.id
        audit(session, actor, "check.run", run.case_id, None, {"check_id": run.id, "verdict": run.verdict, "trigger": "recheck"})
    after = {run.case_id: run.verdict for run in runs}
    for case in cases:
        if case.kind == "mining":
            after[case.id] = run_case_check(session, case, actor, trigger="recheck").verdict
    session.flush()
    changes = [
        RecheckChange(c.id, c.case_no, before.get(c.id), after[c.id]) for c in cases if before.get(c.id) != after[c.id]
    ]
    return len(cases), changes


def recompute_deadlines(session: Session, at: datetime | None = None) -> list[tuple[str, str | None, str | None]]:
    """Recompute both clocks of every open case (after a year's holiday file arrives); return (case, old, new)."""
    at = at or now()
    changed = []
    for case in session.scalars(select(Case).where(Case.status.in_(OPEN_STATES)).order_by(Case.id)):
        old = case.statutory_due, case.promised_due, case.deadline_provisional
        clocks.refresh(case, at)
        if (case.statutory_due, case.promised_due, case.deadline_provisional) != old:
            audit(session, SYSTEM, "deadline.recompute", case.id,
                  {"statutory_due": _iso(old[0]), "promised_due": _iso(old[1]), "provisional": old[2]},
                  {"statutory_due": _iso(case.statutory_due), "promised_due": _iso(case.promised_due),
                   "provisional": case.deadline_provisional})  # fmt: skip
            changed.append((case.case_no, _iso(old[1]), _iso(case.promised_due)))
    session.flush()
    return changed


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
