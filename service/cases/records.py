"""Reading and locking a case's row: the version check every change of a case goes through."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from service.cases.workflow import workflow
from service.core.errors import Conflict, NotFound
from service.core.models import Case

SYSTEM = "system"
"""The actor of what the system does by itself (a review's last opinion moving the case on, a recheck)."""


def now() -> datetime:
    """Return the current time (UTC, zone-aware)."""
    return datetime.now(UTC)


def get_case(session: Session, case_id: int, lock: bool = False) -> Case:
    """Return a case by id, or raise NotFound."""
    # populate_existing: a case already loaded in this session (an access check) must take the locked row's values,
    # or a second writer that waited on the lock would still see the version it read before
    case = session.get(Case, case_id, with_for_update=lock or None, populate_existing=lock)
    if case is None:
        raise NotFound(f"案件不存在 / case {case_id} not found")
    return case


def locked_case(session: Session, case_id: int, version: int | None) -> Case:
    """Return the case locked for change, refusing a stale version (409 naming both versions)."""
    case = get_case(session, case_id, lock=True)
    if version is not None and case.version != version:
        raise Conflict(
            f"案件已被他人修改（当前版本 {case.version}，提交版本 {version}）/ the case changed meanwhile "
            f"(current version {case.version}, yours {version}); reload and try again",
            current_version=case.version,
        )
    return case


def require_editable(case: Case, what_zh: str, what_en: str) -> None:
    """Refuse (409) a change of the case's paperwork outside the states workflow.toml [paperwork] allows."""
    wf = workflow()
    if case.status not in wf.editable_states:
        allowed = "、".join(wf.state_title(s) for s in wf.editable_states)
        allowed_en = ", ".join(wf.state_title(s, "en") for s in wf.editable_states)
        raise Conflict(
            f"案件处于“{wf.state_title(case.status)}”，不能再修改{what_zh}（仅在{allowed}时可改）/ {what_en} can no "
            f"longer change: the case is in state {wf.state_title(case.status, 'en')!r} (only while {allowed_en})",
            state=case.status,
        )


def bump(case: Case) -> None:
    """Count a change of the case (its version) and when it happened."""
    case.version += 1
    case.updated_at = now()
