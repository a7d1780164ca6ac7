"""The one-time notice (一次性告知): every missing material and every map finding told to the applicant at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.checking import latest_check
from service.cases.records import get_case
from service.core.audit import audit
from service.core.errors import NotFound
from service.core.models import Case, Notice
from service.notify.messages import tell

FINDING_KEYS = (
    "rule",
    "title",
    "layer",
    "layer_version",
    "status",
    "overlap_m2",
    "overlap_mu",
    "message",
    "message_en",
    "basis",
)


def one_time_notice(session: Session, actor: Principal, case_id: int, note: str | None = None) -> Notice:
    """Issue the one-time notice: every missing material and every blocking or warning map finding, at once (with
    the clerk's `note` when they ask again after supplements sent online that could not be confirmed)."""
    permissions.require(actor, "case.notice")
    case = get_case(session, case_id)
    run = latest_check(session, case)
    findings = []
    if run is not None:
        findings = [{k: r[k] for k in FINDING_KEYS} for r in run.report["rules"] if r["status"] in ("block", "warn")]
    content: dict[str, Any] = {
        "case_no": case.case_no,
        "kind": case.kind,
        "applicant_name": case.applicant_name,
        "issued_at": records.now().isoformat(),
        "issued_by": actor.username,
        "missing_materials": [
            {"code": m.code, "name": m.name} for m in case.materials if m.required and not m.received
        ],
        "findings": findings,
        "check_id": run.id if run else None,
        "layer_versions": run.layer_versions if run else {},
        "boundary_missing": case.geom is None,
        "note": note.strip() if note and note.strip() else None,
    }
    notice = Notice(case_id=case.id, content=content, created_by=actor.user_id)
    session.add(notice)
    session.flush()
    issued = {
        "notice_id": notice.id,
        "missing": [m["code"] for m in content["missing_materials"]],
        "findings": [f["rule"] for f in findings],
    }
    audit(session, actor.actor, "notice.issue", case.id, None, issued)
    missing = [m["name"] for m in content["missing_materials"]] + (["用地范围"] if content["boundary_missing"] else [])
    if content["findings"]:
        missing.append("一张图核查发现的问题（" + "、".join(f["title"] for f in findings) + "）")
    facts = {
        "missing": "、".join(missing) or "见告知书",
        "reason_note": f"（{content['note']}）" if content["note"] else "",
    }
    tell(session, "notice_issued", case, f"notice:{notice.id}", facts)
    return notice


def latest_notice(session: Session, case: Case) -> Notice | None:
    """Return the latest notice issued for a case."""
    return session.scalar(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id.desc()).limit(1))


def require_latest_notice(session: Session, case: Case) -> Notice:
    """Return the latest notice of a case, or NotFound when none has been issued."""
    notice = latest_notice(session, case)
    if notice is None:
        raise NotFound("尚未出具告知书 / no notice has been issued for this case")
    return notice
