"""A case's clocks as the case service and the pages read them, on top of service.calendar and service.deadlines.

The working-day arithmetic lives in service/calendar.py and the limits in service/deadlines.py; this module binds
them to a case: its receipt, kind, green channel, pauses and current state, with the bureau's own year files
(<data_dir>/calendar/<year>.toml) picked up as soon as they appear.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cases.workflow import decided_states, open_states, workflow
from service.clocks import local_time
from service.clocks.calendar import LOCAL_TZ, PACKAGE_DIR, WorkingCalendar
from service.clocks.deadlines import DeadlineClock, default_rules
from service.core.audit import audit
from service.core.models import Case
from service.core.settings import get_settings


def _data_calendar_dir() -> Path:
    return Path(get_settings().data_dir).expanduser() / "calendar"


def _stamp(folder: Path) -> tuple[tuple[str, float], ...]:
    return tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.toml"))) if folder.is_dir() else ()


@cache
def _calendar(folder: Path, stamps: tuple[tuple[tuple[str, float], ...], ...]) -> WorkingCalendar:
    return WorkingCalendar(extra_dirs=[folder], hours=default_rules().office_hours)


def calendar() -> WorkingCalendar:
    """Return the calendar with the package's and the data folder's year files; a new file is picked up at once."""
    folder = _data_calendar_dir()
    return _calendar(folder, (_stamp(PACKAGE_DIR), _stamp(folder)))


def clock() -> DeadlineClock:
    """Return the deadline clock over the current calendar and the limits in service/data/deadlines.toml."""
    return DeadlineClock(calendar=calendar(), rules=default_rules())


def working_days_between(start: datetime, end: datetime) -> float:
    """Return the working days between two times (half days count)."""
    return float(calendar().working_days_between(start, end))


def refresh(case: Case, at: datetime) -> None:
    """Recompute the case's two stored deadlines from its receipt, kind, green channel and pauses; an application
    sent online has none until the window takes it in (workflow.toml [online])."""
    if case.status == workflow().online_state:
        case.statutory_due = case.promised_due = None
        case.deadline_provisional, case.deadline_note = False, None
        return
    statutory, promised = clock().due_dates(
        case.received_at, case.kind, green_channel=case.green_channel, pauses=list(case.pauses), now=at
    )
    case.statutory_due, case.promised_due = statutory.due, promised.due
    case.deadline_provisional = statutory.provisional or promised.provisional
    case.deadline_note = "; ".join(dict.fromkeys([*statutory.reasons, *promised.reasons])) or None


def view(case: Case, at: datetime | None = None) -> dict[str, Any]:
    """Return both clocks and the current step's as shown to people: due, provisional and why, status, days left."""
    at = at or datetime.now(LOCAL_TZ)
    c = clock()
    out: dict[str, Any] = {}
    if case.statutory_due is None:
        out = {
            name: {"due": None, "provisional": False, "note": None, "status": None, "remaining_working_days": None}
            for name in ("statutory", "promised")
        }
    else:
        decided = case.status in decided_states()
        reading = c.read(
            case.received_at,
            case.kind,
            green_channel=case.green_channel,
            pauses=list(case.pauses),
            now=(case.decided_at or at) if decided else at,
        )
        for name in ("statutory", "promised"):
            r = getattr(reading, name)
            if decided:
                status = "done" if (case.decided_at or at) <= r.due else "done_late"
            else:
                status = "paused" if reading.paused else r.status
            out[name] = {
                "due": r.due.astimezone(LOCAL_TZ).isoformat(),
                "provisional": r.provisional,
                "note": "; ".join(r.reasons) or None,
                "status": status,
                "remaining_working_days": None if decided else float(r.remaining),
            }
    step = (
        c.step_due(case.state_entered_at, case.kind, case.status, green_channel=case.green_channel)
        if case.state_entered_at
        else None
    )
    out["step"] = (
        None
        if step is None
        else {
            "state": case.status,
            "budget_working_days": float(c.rules.step_budget(case.kind, case.status, case.green_channel) or 0),
            "due": step.due.astimezone(LOCAL_TZ).isoformat(),
            "status": "overdue" if at > step.due else "ok",
            "provisional": step.provisional,
        }
    )
    return out


def local_minute(t: datetime) -> str:
    """Return a time as people read it at the window: Beijing time to the minute."""
    return local_time.local_minute(t)


def recompute_deadlines(session: Session, at: datetime | None = None) -> list[tuple[str, str | None, str | None]]:
    """Recompute both clocks of every open case (after a year's holiday file arrives); return (case, old, new)."""
    at = at or datetime.now(LOCAL_TZ)
    changed = []
    for case in session.scalars(select(Case).where(Case.status.in_(open_states())).order_by(Case.id)):
        old = case.statutory_due, case.promised_due, case.deadline_provisional
        refresh(case, at)
        new = case.statutory_due, case.promised_due, case.deadline_provisional
        if new != old:
            before = {"statutory_due": _iso(old[0]), "promised_due": _iso(old[1]), "provisional": old[2]}
            after = {"statutory_due": _iso(new[0]), "promised_due": _iso(new[1]), "provisional": new[2]}
            audit(session, "system", "deadline.recompute", case.id, before, after)
            changed.append((case.case_no, _iso(old[1]), _iso(case.promised_due)))
    session.flush()
    return changed


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
