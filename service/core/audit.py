"""The append-only audit log: who did what to which case, with before and after."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from service.core.models import AuditEntry, Case
from service.core.personal import mask_id, mask_phone

_SNAPSHOT_FIELDS = (
    "case_no",
    "kind",
    "status",
    "version",
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
    "green_channel",
    "area_m2",
    "on_map",
    "latest_check_id",
    "statutory_due",
    "promised_due",
    "deadline_provisional",
    "check_override",
    "decided_at",
)


def _json(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime | date) else v


def snapshot(case: Case) -> dict[str, Any]:
    """Return the case's auditable fields, with ID numbers and phones masked (logs carry no full personal data)."""
    data = {f: _json(getattr(case, f)) for f in _SNAPSHOT_FIELDS}
    data["id_number"] = mask_id(case.id_number)
    data["phone"] = mask_phone(case.phone)
    return data


def audit(
    session: Session,
    actor: str,
    action: str,
    case_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    detail: str | None = None,
) -> None:
    """Append one entry to the audit log in the caller's transaction."""
    session.add(AuditEntry(actor=actor, action=action, case_id=case_id, before=before, after=after, detail=detail))
