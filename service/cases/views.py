"""JSON views of cases for staff and applicants (no HTML here): what each audience may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.crs import m2_to_mu
from service.access import permissions
from service.access.auth import Principal
from service.cases.notices import latest_notice
from service.cases.transitions import allowed_transitions
from service.cases.workflow import decided_states, open_states, workflow
from service.clocks import case_clocks as clocks
from service.core.models import AuditEntry, Case, CheckRun, Rating
from service.core.personal import mask_id, mask_name, mask_phone


def _boundary(case: Case) -> dict[str, Any] | None:
    return dict(mapping(to_shape(case.geom))) if case.geom is not None else None


def applicant_facts(case: Case) -> dict[str, Any]:
    """Return the application's facts in full (personal data unmasked), its area in mu and its boundary as GeoJSON."""
    return {
        "applicant_name": case.applicant_name,
        "applicant_type": case.applicant_type,
        "id_number": case.id_number,
        "phone": case.phone,
        "township": case.township,
        "village": case.village,
        "household_id": case.household_id,
        "project_name": case.project_name,
        "industry": case.industry,
        "company": case.company,
        "mineral": case.mineral,
        "depth_top": case.depth_top,
        "depth_bottom": case.depth_bottom,
        "area_mu": m2_to_mu(case.area_m2) if case.area_m2 is not None else None,
        "boundary": _boundary(case),
    }


def case_summary(case: Case, verdict: str | None, at: datetime | None = None) -> dict[str, Any]:
    """Return a case-list row with personal data masked."""
    return {
        "id": case.id,
        "case_no": case.case_no,
        "kind": case.kind,
        "status": case.status,
        "status_title": workflow().state_title(case.status),
        "version": case.version,
        "applicant_name": case.applicant_name if case.applicant_type == "unit" else mask_name(case.applicant_name),
        "phone": mask_phone(case.phone),
        "id_number": mask_id(case.id_number),
        "received_at": case.received_at.isoformat(),
        "green_channel": case.green_channel,
        "area_m2": case.area_m2,
        "verdict": verdict,
        **clocks.view(case, at),
    }


def case_detail(session: Session, case: Case, role: str, at: datetime | None = None) -> dict[str, Any]:
    """Return everything staff see on a case page (full personal data; the caller audits the view)."""
    run = session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None
    return {
        **case_summary(case, run.verdict if run else None, at),
        **applicant_facts(case),
        "boundary_source": case.boundary_source,
        "check_override": case.check_override,
        "materials": [
            {"code": m.code, "name": m.name, "required": m.required, "received": m.received} for m in case.materials
        ],
        "tasks": [
            {
                "id": t.id,
                "department": t.department,
                "lead": t.lead,
                "status": t.status,
                "result": t.result,
                "opinion": t.opinion,
                "done_at": t.done_at.isoformat() if t.done_at else None,
            }
            for t in case.tasks
        ],
        "pauses": [
            {"paused_at": p.paused_at.isoformat(), "resumed_at": p.resumed_at.isoformat() if p.resumed_at else None}
            for p in case.pauses
        ],
        "check": {
            "id": run.id,
            "verdict": run.verdict,
            "created_at": run.created_at.isoformat(),
            "layer_versions": run.layer_versions,
        }
        if run
        else None,
        "allowed_transitions": [
            {"name": t.name, "title": t.title, "reason_required": t.reason_required, "form": t.form}
            for t in allowed_transitions(case, role)
        ],
    }


def timeline(session: Session, case: Case, public: bool = False) -> list[dict[str, Any]]:
    """Return the case's history from the audit log (for applicants: the workflow steps only)."""
    entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)).all()
    out = []
    kind = workflow().kind(case.kind)
    for e in entries:
        if public and not (e.action.startswith("transition.") or e.action in ("case.create", "notice.issue")):
            continue
        name = e.action.split(".", 1)[1] if e.action.startswith("transition.") else None
        t = kind.get(name) if name else None
        title = t.title if t else {"case.create": "收件", "notice.issue": "出具一次性告知书"}.get(e.action, e.action)
        row: dict[str, Any] = {"at": e.at.isoformat(), "action": e.action, "title": title}
        if not public:
            row.update(actor=e.actor, detail=e.detail, before=e.before, after=e.after)
        out.append(row)
    return out


def public_case(session: Session, case: Case, at: datetime | None = None) -> dict[str, Any]:
    """Return what an applicant sees of their own case with the query code."""
    notice = latest_notice(session, case)
    rating = session.scalar(select(Rating).where(Rating.case_id == case.id))
    return {
        "case_no": case.case_no,
        "kind": case.kind,
        "status": case.status,
        "status_title": workflow().state_title(case.status),
        "applicant_name": mask_name(case.applicant_name) if case.applicant_type == "person" else case.applicant_name,
        "received_at": case.received_at.isoformat(),
        "area_m2": case.area_m2,
        "area_mu": m2_to_mu(case.area_m2) if case.area_m2 is not None else None,
        "boundary": _boundary(case),
        "timeline": timeline(session, case, public=True),
        "notice": notice.content if notice else None,
        "can_rate": case.status in decided_states() and rating is None,
        "rating": {"stars": rating.stars, "comment": rating.comment} if rating else None,
        **clocks.view(case, at),
    }


def case_rows(
    session: Session,
    principal: Principal,
    kind: str | None = None,
    status: str | None = None,
    due: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Return case-list rows newest first as the principal may see them, filtered by kind, state and deadline
    (`due`: "soon" or "overdue" on either clock)."""
    q = select(Case, CheckRun.verdict).outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
    q = q.where(permissions.case_visibility(principal))
    if kind:
        q = q.where(Case.kind == kind)
    if status:
        q = q.where(Case.status == status)
    if due:
        q = q.where(Case.status.in_(open_states()))
    rows = session.execute(q.order_by(Case.id.desc()).limit(limit if not due else 10000).offset(offset)).all()
    out = [case_summary(c, v) for c, v in rows]
    if due:
        wanted = "due_soon" if due == "soon" else "overdue"
        out = [r for r in out if wanted in (r["statutory"]["status"], r["promised"]["status"])][:limit]
    return out
