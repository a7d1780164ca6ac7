"""Who has to act next: a reviewer's open review tasks and the cases awaiting a leader's decision (no HTML here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal
from service.cases.views import case_summary
from service.cases.workflow import IN_REVIEW, workflow
from service.clocks import case_clocks as clocks
from service.core.models import Case, CaseUpload, CheckRun, ReviewTask


def review_tasks(session: Session, department: str | None) -> list[dict[str, Any]]:
    """Return the open review tasks of a department on cases in review, oldest case first, each with its case row."""
    if not department:
        return []
    q = (
        select(ReviewTask, Case, CheckRun.verdict)
        .join(Case, Case.id == ReviewTask.case_id)
        .outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
        .where(ReviewTask.department == department, ReviewTask.status != "done", Case.status == IN_REVIEW)
        .order_by(Case.state_entered_at, Case.id)
    )
    return [
        {**case_summary(c, v), "task_id": t.id, "department": t.department, "lead": t.lead}
        for t, c, v in session.execute(q)
    ]


def decision_states() -> set[str]:
    """Return the states in which a case waits for a leader's decision: an open state a transition out of which may be
    taken only by the roles of permissions.toml's `case.decide` (领导审批 and 报上级审批, read from workflow.toml).
    A decided case's later changes (a mining right's renewal) are asked for, not awaited: they are no decision due."""
    deciders = set(permissions.action("case.decide").roles)
    waiting = set(workflow().open_states)
    return {
        state
        for kind in workflow().kinds.values()
        for t in kind.transitions
        if set(t.roles) <= deciders
        for state in t.from_states
        if state in waiting
    }


def awaiting_decision(session: Session) -> list[dict[str, Any]]:
    """Return the cases waiting for a leader's decision, longest waiting first, with the review tasks' outcome."""
    q = (
        select(Case, CheckRun.verdict)
        .outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
        .where(Case.status.in_(decision_states()))
        .order_by(Case.state_entered_at, Case.id)
    )
    out = []
    for c, v in session.execute(q):
        results = [t.result for t in c.tasks if t.status == "done"]
        tally = {"agreed": results.count("agree"), "disagreed": results.count("disagree"), "tasks": len(c.tasks)}
        out.append({**case_summary(c, v), **tally})
    return out


def online_waiting(session: Session, principal: Principal, at: datetime | None = None) -> list[dict[str, Any]]:
    """Return what the window owes applicants who came online: applications in 网上预受理 (to take in or refuse) and
    cases whose supplement sent online waits for confirmation, oldest first, each with its case row and its step's
    due time; the cases the principal may see (staff of one county: its cases)."""
    pending = select(CaseUpload.case_id).where(CaseUpload.purpose == "supplement", CaseUpload.status == "received")
    q = (
        select(Case, CheckRun.verdict)
        .outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
        .where(
            or_(Case.status == workflow().online_state, Case.id.in_(pending)), permissions.case_visibility(principal)
        )
        .order_by(Case.state_entered_at, Case.id)
    )
    out = []
    for c, v in session.execute(q):
        step = clocks.view(c, at)["step"]
        waiting = "application" if c.status == workflow().online_state else "supplement"
        out.append({**case_summary(c, v, at), "waiting": waiting, "step": step})
    return out
