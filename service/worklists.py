"""Who has to act next: a reviewer's open review tasks and the cases awaiting a leader's decision (no HTML here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Case, CheckRun, ReviewTask
from service.presenters import case_summary
from service.workflow import IN_REVIEW, workflow


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
    return [{**case_summary(c, v), "task_id": t.id, "department": t.department, "lead": t.lead} for t, c, v in session.execute(q)]


def decision_states(role: str = "leader") -> set[str]:
    """Return the states in which a case waits for this role: a transition out of them is the role's and not a
    clerk's (for a leader: 领导审批 and 报上级审批, read from workflow.toml)."""
    states: set[str] = set()
    for kind in workflow().kinds.values():
        for t in kind.transitions:
            if role in t.roles and "clerk" not in t.roles:
                states.update(t.from_states)
    return states


def awaiting_decision(session: Session, role: str = "leader") -> list[dict[str, Any]]:
    """Return the cases waiting for the role's decision, longest waiting first, with the review tasks' outcome."""
    states = decision_states(role)
    if not states:
        return []
    q = (
        select(Case, CheckRun.verdict)
        .outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
        .where(Case.status.in_(states))
        .order_by(Case.state_entered_at, Case.id)
    )
    out = []
    for c, v in session.execute(q):
        results = [t.result for t in c.tasks if t.status == "done"]
        out.append({**case_summary(c, v), "agreed": results.count("agree"), "disagreed": results.count("disagree"),
                    "tasks": len(c.tasks)})  # fmt: skip
    return out
