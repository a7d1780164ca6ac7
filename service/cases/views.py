"""JSON views of cases for staff and applicants (no HTML here): what each audience may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import ColumnElement, Select, func, or_, select, text
from sqlalchemy.orm import Session

from gis.crs import m2_to_mu
from service.access import permissions
from service.access.auth import Principal
from service.cases.announcements import case_announcements, case_responses
from service.cases.figures import case_figures
from service.cases.lookup import normal_case_no
from service.cases.notices import latest_notice
from service.cases.places import place_warnings
from service.cases.records import SYSTEM
from service.cases.transitions import allowed_transitions
from service.cases.uploads import case_uploads, upload_row
from service.cases.workflow import decided_states, open_states, workflow
from service.clocks import case_clocks as clocks
from service.core.models import AuditEntry, Case, CaseUpload, CheckRun, Notice, Rating, User
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
        "channel": case.channel,
        "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
        "green_channel": case.green_channel,
        "area_m2": case.area_m2,
        "verdict": verdict,
        **clocks.view(case, at),
    }


def paused_since(case: Case) -> datetime | None:
    """Return since when the case's clocks are paused (waiting for supplements), or None while they run."""
    open_pauses = [p.paused_at for p in case.pauses if p.resumed_at is None]
    return max(open_pauses) if open_pauses else None


def case_detail(session: Session, case: Case, role: str, at: datetime | None = None) -> dict[str, Any]:
    """Return everything staff see on a case page (full personal data; the caller audits the view)."""
    run = session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None
    paused = paused_since(case)
    return {
        **case_summary(case, run.verdict if run else None, at),
        **applicant_facts(case),
        "boundary_source": case.boundary_source,
        "check_override": case.check_override,
        "editable": case.status in workflow().editable_states,
        "paused_since": paused.isoformat() if paused else None,
        "place_warnings": place_warnings(case),
        "figures": case_figures(session, case.id, run.report if run else None),
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
            {
                "name": t.name,
                "title": t.title,
                "reason_required": t.reason_required,
                "decides": t.decides,
                "form": t.form,
            }
            for t in allowed_transitions(case, role)
        ],
        "uploads": [upload_row(u) for u in case_uploads(session, case)],
        "announcements": case_announcements(session, case),
        "responses": case_responses(session, case),
    }


def actor_names(session: Session, actors: set[str]) -> dict[str, tuple[str, str]]:
    """Return each audit actor as (kind, name): staff (`role:username`) by their display name; the system, the
    command-line operator and applicants by kind (the pages name them in the reader's language)."""
    usernames = {a.split(":", 1)[1] for a in actors if ":" in a and not a.startswith("applicant:")}
    shown = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())
    out = {}
    for a in actors:
        if a.startswith("applicant:"):
            out[a] = ("applicant", "")
        elif ":" in a:
            username = a.split(":", 1)[1]
            out[a] = ("staff", shown.get(username) or username)
        else:
            out[a] = ("system" if a == SYSTEM else "operator", a)
    return out


PUBLIC_STEPS = ("case.create", "notice.issue", "supplement.upload")
"""Besides the workflow's moves, the steps an applicant sees in their case's history."""
STEP_TITLES = {
    "case.create": "收件",
    "case.submit_online": "网上申报",
    "notice.issue": "出具一次性告知书",
    "supplement.upload": "网上提交补正材料",
}


def timeline(session: Session, case: Case, public: bool = False) -> list[dict[str, Any]]:
    """Return the case's history from the audit log (for applicants: the workflow steps only); times in UTC ISO
    (the pages show them in Beijing time), staff by their display names."""
    entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)).all()
    out = []
    kind = workflow().kind(case.kind)
    names = {} if public else actor_names(session, {e.actor for e in entries})
    for e in entries:
        if public and not (e.action.startswith("transition.") or e.action in PUBLIC_STEPS):
            continue
        name = e.action.split(".", 1)[1] if e.action.startswith("transition.") else None
        t = kind.get(name) if name else None
        # an application sent online is created by the applicant: its step says so
        action = (
            "case.submit_online"
            if e.action == "case.create" and (e.after or {}).get("channel") == "online"
            else e.action
        )
        title = t.title if t else STEP_TITLES.get(action, action)
        row: dict[str, Any] = {"at": e.at.isoformat(), "action": action, "title": title}
        if not public:
            actor_kind, actor_name = names[e.actor]
            row.update(
                actor=e.actor,
                actor_kind=actor_kind,
                actor_name=actor_name,
                detail=e.detail,
                before=e.before,
                after=e.after,
            )
        out.append(row)
    return out


def notice_is_current(case: Case, notice: Notice | None) -> bool:
    """Return whether a notice still asks the applicant for something: the paperwork is open and no supplements
    have been received since it was issued."""
    if notice is None or case.status not in workflow().editable_states:
        return False
    return not any(p.resumed_at is not None and p.resumed_at >= notice.created_at for p in case.pauses)


def findings_in_plain_words(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the check's blocking and warning findings as the applicant reads them (the rule's own sentence), with
    the overlap's geometry for the map."""
    if not report:
        return []
    rules = sorted(report.get("rules", []), key=lambda r: r["status"] != "block")
    return [
        {
            "title": r["title"],
            "status": r["status"],
            "overlap_m2": r["overlap_m2"],
            "message": r["message"],
            "message_en": r.get("message_en", ""),
            "geometry": r.get("geometry"),
        }
        for r in rules
        if r["status"] in ("block", "warn")
    ]


def applicant_files(session: Session, case: Case, notice: Notice | None) -> dict[str, Any]:
    """Return what the applicant sees of the files they sent online (with the application; answering the notice:
    confirmed, waiting for the clerk, or returned with the clerk's reason) and whether they may answer the notice
    online now."""
    uploads = session.scalars(select(CaseUpload).where(CaseUpload.case_id == case.id).order_by(CaseUpload.id)).all()
    current = notice is not None and notice_is_current(case, notice)
    shown = ("id", "purpose", "material_code", "filename", "media_type", "size", "status", "note", "boundary")
    return {
        "channel": case.channel,
        "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
        "uploads": [{k: v for k, v in upload_row(u).items() if k in shown} for u in uploads],
        "can_supplement": current and case.status == "awaiting_supplement",
        "supplement_waiting": any(u.purpose == "supplement" and u.status == "received" for u in uploads),
    }


def public_case(session: Session, case: Case, at: datetime | None = None) -> dict[str, Any]:
    """Return what an applicant sees of their own case with the query code."""
    notice = latest_notice(session, case)
    run = session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None
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
        "notice": notice.content if notice is not None and notice_is_current(case, notice) else None,
        "findings": findings_in_plain_words(run.report if run else None),
        "paused_since": (p.isoformat() if (p := paused_since(case)) else None),
        "can_rate": case.status in decided_states() and rating is None,
        "rating": {"stars": rating.stars, "comment": rating.comment} if rating else None,
        **applicant_files(session, case, notice),
        **clocks.view(case, at),
    }


def search_condition(typed: str) -> ColumnElement[bool]:
    """Return the condition finding cases by what a clerk types: the case number (or part of it), the applicant's
    name, ID number or phone, a parcel number under the boundary (the cadastral ones of the check, the survey's own),
    or the village or township."""
    words = typed.strip()
    like = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    number = normal_case_no(words)
    # a cadastral parcel under the boundary (the requisition's owners, any rule's features) or the survey's own number
    parcel = text(
        "EXISTS (SELECT 1 FROM check_runs r WHERE r.id = cases.latest_check_id AND ("
        "jsonb_path_exists(r.report, '$.owners[*].parcels[*].parcel_no ? (@ == $p)', jsonb_build_object('p', "
        "CAST(:parcel_no AS text))) OR jsonb_path_exists(r.report, '$.rules[*].features[*].attrs.parcel_no ? "
        "(@ == $p)', jsonb_build_object('p', CAST(:parcel_no AS text))))) "
        "OR jsonb_path_exists(cases.boundary_source, '$.parcels[*].parcel_no ? (@ == $p)', "
        "jsonb_build_object('p', CAST(:parcel_no AS text)))"
    ).bindparams(parcel_no=words)
    return or_(
        Case.case_no == number,
        Case.case_no.ilike("%" + number.replace("%", "") + "%"),
        Case.applicant_name.ilike(like),
        Case.id_number == words.upper(),
        Case.phone == words,
        Case.village.ilike(like),
        Case.township.ilike(like),
        Case.household_id == words,
        Case.project_name.ilike(like),
        parcel,
    )


def _listed(
    principal: Principal,
    kind: str | None = None,
    status: str | None = None,
    due: str | None = None,
    q: str | None = None,
) -> Select[Case, str]:
    query = select(Case, CheckRun.verdict).outerjoin(CheckRun, CheckRun.id == Case.latest_check_id)
    query = query.where(permissions.case_visibility(principal))
    if kind:
        query = query.where(Case.kind == kind)
    if status:
        query = query.where(Case.status == status)
    if due:
        query = query.where(Case.status.in_(open_states()))
    if q and q.strip():
        query = query.where(search_condition(q))
    return query


def case_rows(
    session: Session,
    principal: Principal,
    kind: str | None = None,
    status: str | None = None,
    due: str | None = None,
    limit: int = 100,
    offset: int = 0,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """Return case-list rows newest first as the principal may see them, filtered by kind, state, deadline
    (`due`: "soon" or "overdue" on either clock) and what was typed into the search (`q`, see search_condition)."""
    query = _listed(principal, kind, status, due, q)
    if not due:
        rows = session.execute(query.order_by(Case.id.desc()).limit(limit).offset(offset)).all()
        return [case_summary(c, v) for c, v in rows]
    wanted = "due_soon" if due == "soon" else "overdue"
    out = [case_summary(c, v) for c, v in session.execute(query.order_by(Case.id.desc())).all()]
    out = [r for r in out if wanted in (r["statutory"]["status"], r["promised"]["status"])]
    return out[offset : offset + limit]


def count_cases(
    session: Session,
    principal: Principal,
    kind: str | None = None,
    status: str | None = None,
    due: str | None = None,
    q: str | None = None,
) -> int:
    """Return how many cases the list holds with these filters (for paging)."""
    if due:
        return len(case_rows(session, principal, kind, status, due, limit=10**9, q=q))
    query = _listed(principal, kind, status, None, q).with_only_columns(func.count()).order_by(None)
    return int(session.execute(query).scalar_one())
