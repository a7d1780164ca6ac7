"""Moving a case along its workflow (workflow.toml): who may, and the guards that must hold first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal
from service.cases import mining_rights, onemap, records
from service.cases.announcements import publish_on_entry, unanswered_responses
from service.cases.checking import latest_check
from service.cases.records import SYSTEM, bump, get_case, locked_case
from service.cases.uploads import receive_sent_materials
from service.cases.workflow import REVIEW, Transition, workflow
from service.clocks import case_clocks as clocks
from service.core.audit import audit, snapshot
from service.core.errors import Conflict, InvalidInput
from service.core.models import Case, CasePause, ReviewTask
from service.notify.messages import tell


def allowed_transitions(case: Case, role: str | None = None) -> list[Transition]:
    """Return the transitions out of the case's state (for a role, when given)."""
    ts = workflow().kind(case.kind).from_state(case.status)
    return [t for t in ts if role is None or role in t.roles]


def _materials_complete(session: Session, case: Case, at: datetime) -> str | None:
    missing = [m.name for m in case.materials if m.required and not m.received]
    return "材料不齐 / materials missing: " + "、".join(missing) if missing else None


def _boundary_checked(session: Session, case: Case, at: datetime) -> str | None:
    if case.geom is None or case.latest_check_id is None:
        return "尚无用地范围或一张图核查 / no boundary or no one-map check yet"
    return None


def _check_not_blocked(session: Session, case: Case, at: datetime) -> str | None:
    run = latest_check(session, case)
    if run is not None and run.verdict == "block" and not case.check_override:
        blocking = [r["rule"] for r in run.report["rules"] if r["status"] == "block"]
        return "一张图核查未通过 / the one-map check blocks: " + ", ".join(blocking)
    return None


def _reviews_done(session: Session, case: Case, at: datetime) -> str | None:
    open_tasks = [t.department for t in case.tasks if t.status != "done"]
    if not case.tasks or open_tasks:
        return "并联审查未完成 / review tasks open: " + "、".join(open_tasks)
    return None


def _pre_announcement_over(session: Session, case: Case, at: datetime) -> str | None:
    end = clocks.clock().pre_announcement_end(case.state_entered_at)
    if at < end.due:
        days = clocks.clock().rules.pre_announcement_working_days
        return (
            f"征收预公告期至少 {days:g} 个工作日，{clocks.local_minute(end.due)} 期满 / the pre-announcement lasts at "
            f"least {days:g} working days, until {clocks.local_minute(end.due)}"
        )
    return None


def _compensation_announcement_over(session: Session, case: Case, at: datetime) -> str | None:
    end = clocks.clock().compensation_announcement_end(case.state_entered_at)
    if at < end.due:
        days = clocks.clock().rules.compensation_announcement_days
        return (
            f"补偿安置方案公告期至少 {days} 日，{clocks.local_minute(end.due)} 期满 / the plan announcement lasts at "
            f"least {days} days, until {clocks.local_minute(end.due)}"
        )
    return None


def _needs_higher(session: Session, case: Case, at: datetime) -> str | None:
    run = latest_check(session, case)
    if run is None or not run.report.get("approval_level"):
        return "核查报告未给出审批层级 / the check gives no approval level"
    return None


def _responses_answered(session: Session, case: Case, at: datetime) -> str | None:
    waiting = unanswered_responses(session, case)
    if not waiting:
        return None
    objections, hearings = waiting.get("objection", 0), waiting.get("hearing", 0)
    return (
        f"公告期内收到的 {objections} 条异议、{hearings} 条听证申请尚未答复 / {objections} objection(s) and {hearings} "
        "hearing request(s) sent to the announcement have not been answered yet"
    )


GUARDS: dict[str, Callable[[Session, Case, datetime], str | None]] = {
    "materials_complete": _materials_complete,
    "boundary_checked": _boundary_checked,
    "check_not_blocked": _check_not_blocked,
    "reviews_done": _reviews_done,
    "pre_announcement_over": _pre_announcement_over,
    "compensation_announcement_over": _compensation_announcement_over,
    "needs_higher": _needs_higher,
    "responses_answered": _responses_answered,
}
"""Each guard named in workflow.toml: None when it holds, else what is missing (中文 / English)."""

Effect = Callable[[Session, str, Case, Any, datetime, str | None], set[str]]
EFFECTS: dict[str, Effect] = {
    "grant_mining_right": mining_rights.grant,
    "renew_mining_right": mining_rights.renew,
    "change_mining_right": mining_rights.change,
    "transfer_mining_right": mining_rights.transfer,
    "cancel_mining_right": mining_rights.cancel,
}
"""Each effect named in workflow.toml: what taking the transition does besides moving the case; it answers the
layers of the one map it changed (their versions are bumped last)."""

FORMS = {
    "site_visit": ("现场核查登记表", "the site-visit form (POST /api/v1/cases/{id}/visits)"),
    "mining_right": ("采矿权变更登记表", "the mining-right form (POST /api/v1/cases/{id}/mining-right)"),
}


def unmet_guards(session: Session, case: Case, t: Transition, at: datetime) -> list[str]:
    """Return what keeps a transition from being taken now (empty when every guard holds)."""
    return [failure for g in t.guards if (failure := GUARDS[g](session, case, at)) is not None]


def transition(
    session: Session,
    actor: Principal,
    case_id: int,
    name: str,
    version: int,
    reason: str | None = None,
    at: datetime | None = None,
    details: Any = None,
) -> Case:
    """Move a case along its workflow; 409 for an illegal or stale move, 403 for a role that may not.

    `details` are what a transition taken through a form brings (a site visit, a mining right's new facts).
    """
    at = at or records.now()
    t = workflow().kind(get_case(session, case_id).kind).get(name)
    if t is not None:
        permissions.require_role_in(actor.role, t.roles, t.title, t.title_en)
    case = locked_case(session, case_id, version)
    moved = take(session, actor.actor, actor.role, case, name, reason, at, details)
    if t is not None and t.clock == "start" and moved.received_by is None:
        moved.received_by = actor.user_id  # the clerk who takes an online application in has received it
    return moved


def take(
    session: Session,
    actor: str,
    role: str,
    case: Case,
    name: str,
    reason: str | None,
    at: datetime,
    details: Any = None,
) -> Case:
    """Take a transition of a locked case (the system's own moves pass role SYSTEM).

    Its effects run after the move; when the case joins or leaves a layer of the one map (or an effect changes a
    layer), the open cases it touches are checked again in the same transaction.
    """
    wf = workflow().kind(case.kind)
    t = wf.get(name)
    allowed = [x.name for x in allowed_transitions(case)]
    if t is None or case.status not in t.from_states:
        raise Conflict(
            f"当前状态“{workflow().state_title(case.status)}”不能执行 {name} / "
            f"{name!r} is not allowed from state {case.status!r}",
            allowed=allowed,
        )
    if role != SYSTEM:
        permissions.require_role_in(role, t.roles, t.title, t.title_en)
    if t.reason_required and not (reason and reason.strip()):
        raise InvalidInput(f"“{t.title}”必须说明理由 / {name!r} needs a reason")
    if t.form is not None and details is None:
        zh, en = FORMS[t.form]
        raise Conflict(
            f"“{t.title}”须通过{zh}办理 / {t.title_en or name!r} is taken through {en}", allowed=allowed, form=t.form
        )
    failures = unmet_guards(session, case, t, at)
    if failures:
        raise Conflict("；".join(failures), allowed=allowed, unmet=failures)
    before = snapshot(case)
    was_on_map = case.on_map
    case.status = t.target
    case.on_map = workflow().on_map(t.target, case.on_map)
    case.state_entered_at = at
    if t.clock == "start":
        case.received_at = at  # the statutory clock starts: the window has taken the application in
        before_materials = {m.code: m.received for m in case.materials}
        if receive_sent_materials(session, case, at):
            after_materials = {m.code: m.received for m in case.materials}
            audit(session, actor, "case.materials", case.id, before_materials, after_materials, detail="网上提交")
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
    bump(case)
    session.flush()
    session.refresh(case)
    clocks.refresh(case, at)
    changed: set[str] = set()
    for effect in t.effects:
        changed |= EFFECTS[effect](session, actor, case, details, at, reason)
    audit(session, actor, f"transition.{name}", case.id, before, snapshot(case), detail=reason)
    publish_on_entry(session, case, at)
    tell_moved(session, case, t, reason, at)
    if case.on_map != was_on_map or changed:
        onemap.follow_change(session, case, actor, f"transition.{name}")
    onemap.bump_layers(session, changed)  # last: the lock on a layer's version closes no cycle with case rows
    session.flush()
    return case


def tell_moved(session: Session, case: Case, t: Transition, reason: str | None, at: datetime) -> None:
    """Queue the text messages of a move (the applicant at every step; staff with a new task), keyed by the case's
    version after it."""
    step = clocks.view(case, at)["step"]
    facts = {
        "step": t.title,
        "reason_note": f"理由：{reason.strip()}。" if reason and reason.strip() else "",
        "step_due": clocks.local_minute(datetime.fromisoformat(step["due"])) if step else "—",
    }
    tell(session, "transition", case, f"transition:{case.id}:{case.version}", facts, state=case.status)
