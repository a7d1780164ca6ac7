"""The departments' parallel review and the leader's exception to a blocking finding."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.records import SYSTEM, bump, locked_case
from service.cases.transitions import allowed_transitions, take
from service.cases.workflow import IN_REVIEW
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Case, ReviewTask

RESULTS = ("agree", "disagree")


def complete_task(
    session: Session, actor: Principal, case_id: int, task_id: int, version: int, result: str, opinion: str
) -> Case:
    """Record a department's review opinion; when the last task is done the case moves on by itself."""
    if result not in RESULTS:
        raise InvalidInput("审查结论须为 agree 或 disagree / result must be 'agree' or 'disagree'")
    if not opinion.strip():
        raise InvalidInput("请填写审查意见 / the opinion is empty")
    task = session.get(ReviewTask, task_id)
    if task is None or task.case_id != case_id:
        raise NotFound(f"审查任务不存在 / review task {task_id} not found on this case")
    permissions.require_task(actor, task)
    case = locked_case(session, case_id, version)
    if task.status == "done" or case.status != IN_REVIEW:
        raise Conflict("审查任务已完成或案件不在审查环节 / the task is done or the case is not in review")
    before = {"task": task.id, "status": task.status}
    task.status, task.result, task.opinion, task.done_by, task.done_at = (
        "done",
        result,
        opinion,
        actor.user_id,
        records.now(),
    )
    bump(case)
    session.flush()
    after = {"task": task.id, "department": task.department, "result": result, "opinion": opinion}
    audit(session, actor.actor, "review.done", case.id, before, after)
    if all(t.status == "done" for t in case.tasks):
        follow = next((t for t in allowed_transitions(case) if "reviews_done" in t.guards), None)
        if follow is not None:
            take(session, SYSTEM, SYSTEM, case, follow.name, None, records.now())
    return case


def override_block(session: Session, actor: Principal, case_id: int, version: int, reason: str) -> Case:
    """Let a leader lift a blocking map finding for a narrow legal exception, with the reason on record."""
    permissions.require(actor, "case.override")
    if not reason.strip():
        raise InvalidInput("例外决定必须说明理由 / an override needs a reason")
    case = locked_case(session, case_id, version)
    before = {"check_override": case.check_override}
    case.check_override = reason.strip()
    bump(case)
    after = {"check_override": case.check_override}
    audit(session, actor.actor, "check.override", case.id, before, after, detail=reason)
    return case
