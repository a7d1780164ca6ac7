"""The public register (网上公示): the cases the window has received, with their kind, township, the applicant's
masked name, their state and dates, and the decisions — no other personal data. Applications sent online appear once
the window has taken them in or refused them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.check.rules import kind_title
from service.cases.documents import texts
from service.cases.workflow import workflow
from service.core.models import AuditEntry, Case
from service.core.personal import mask_name


def _decisions(session: Session, ids: list[int]) -> dict[int, str]:
    """Return the deciding transition (approve, reject, refuse) of each decided case among `ids` (its last one)."""
    deciding = sorted({f"transition.{t.name}" for k in workflow().kinds.values() for t in k.transitions if t.decides})
    rows = session.execute(
        select(AuditEntry.case_id, AuditEntry.action)
        .where(AuditEntry.case_id.in_(ids), AuditEntry.action.in_(deciding))
        .order_by(AuditEntry.case_id, AuditEntry.id.desc())
        .distinct(AuditEntry.case_id)
    ).all()
    return {int(cid): action.split(".", 1)[1] for cid, action in rows if cid is not None}


def _listed(kind: str | None, township: str | None, status: str | None) -> Any:
    q = select(Case).where(Case.status != workflow().online_state)
    if kind:
        q = q.where(Case.kind == kind)
    if township:
        q = q.where(Case.township == township)
    if status:
        q = q.where(Case.status == status)
    return q


def public_register(
    session: Session,
    kind: str | None = None,
    township: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Return a page of the register, newest first, and how many cases it holds with these filters."""
    total = session.scalar(_listed(kind, township, status).with_only_columns(func.count()).order_by(None))
    cases = session.scalars(_listed(kind, township, status).order_by(Case.id.desc()).limit(limit).offset(offset)).all()
    decided = _decisions(session, [c.id for c in cases])
    outcomes = texts()["outcomes"]
    rows = []
    for c in cases:
        outcome = decided.get(c.id) if c.decided_at else None
        rows.append(
            {
                "case_no": c.case_no,
                "kind": c.kind,
                "kind_title": kind_title(c.kind, short=True),
                "township": c.township,
                "applicant": c.applicant_name if c.applicant_type == "unit" else mask_name(c.applicant_name),
                "status": c.status,
                "status_title": workflow().state_title(c.status),
                "status_title_en": workflow().state_title(c.status, "en"),
                "channel": c.channel,
                "received_at": c.received_at.isoformat(),
                "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                "decision": {
                    "outcome": outcome,
                    "title": outcomes[outcome]["title"],
                    "title_en": outcomes[outcome]["title_en"],
                }
                if outcome in outcomes
                else None,
            }
        )
    return {"total": int(total or 0), "limit": limit, "offset": offset, "cases": rows}


def townships(session: Session) -> list[str]:
    """Return the townships the register's cases lie in (for its filter)."""
    return [
        t
        for t in session.scalars(
            select(Case.township).where(Case.township.is_not(None), Case.status != workflow().online_state).distinct()
        )
        if t
    ]
