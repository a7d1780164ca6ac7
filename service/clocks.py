"""The two deadline clocks of a case (statutory and promised) in Chinese working days, with pauses.

Working days come from `chinesecalendar` (2004–2026, 调休 included) and override files per year
(service/data/calendar/<year>.toml and <data_dir>/calendar/<year>.toml). A year nobody knows yet is counted on
weekends only, and every deadline that touches it is marked provisional with the reason.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import chinese_calendar

if TYPE_CHECKING:
    from service.models import Case

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class CalendarError(ValueError):
    """An override file is malformed."""


@dataclass
class WorkingCalendar:
    """Chinese working days: chinesecalendar plus per-year override files; unknown years on weekends only."""

    overrides: dict[int, tuple[frozenset[date], frozenset[date]]] = field(default_factory=dict)
    """year → (holidays, adjusted workdays)"""

    def load_year(self, path: Path) -> int:
        """Load one year's schedule file; return the year."""
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
            year = int(raw["year"])
            holidays: set[date] = set()
            for h in raw.get("holidays", []):
                d = h["from"]
                while d <= h["to"]:
                    holidays.add(d)
                    d += timedelta(days=1)
            workdays = set(raw.get("workdays", []))
        except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise CalendarError(f"{path}: 节假日文件格式错误 / malformed holiday file: {exc}") from exc
        if any(d.year != year for d in holidays | workdays):
            raise CalendarError(f"{path}: 日期不属于 {year} 年 / a date lies outside {year}")
        self.overrides[year] = (frozenset(holidays), frozenset(workdays))
        return year

    def load_dir(self, folder: Path) -> list[int]:
        """Load every <year>.toml in a folder."""
        return [self.load_year(p) for p in sorted(folder.glob("[0-9][0-9][0-9][0-9].toml"))] if folder.is_dir() else []

    def known(self, year: int) -> bool:
        """Return whether the year's holidays are known (package or override file)."""
        if year in self.overrides:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return True
        except NotImplementedError:
            return False

    def is_working_day(self, d: date) -> bool:
        """Return whether d is a working day (weekends only for an unknown year)."""
        if d.year in self.overrides:
            holidays, workdays = self.overrides[d.year]
            return d in workdays or (d.weekday() < 5 and d not in holidays)
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            return d.weekday() < 5


def _calendar_dirs() -> tuple[Path, Path]:
    from service.settings import get_settings

    return Path(str(resources.files("service").joinpath("data/calendar"))), Path(get_settings().data_dir).expanduser() / "calendar"


def _stamp(folder: Path) -> tuple[tuple[str, float], ...]:
    return tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.toml"))) if folder.is_dir() else ()


@cache
def _calendar(stamps: tuple[tuple[tuple[str, float], ...], ...]) -> WorkingCalendar:
    cal = WorkingCalendar()
    for folder in _calendar_dirs():
        cal.load_dir(folder)
    return cal


def calendar() -> WorkingCalendar:
    """Return the calendar with the package's and the data folder's year files; a new file is picked up at once."""
    return _calendar(tuple(_stamp(f) for f in _calendar_dirs()))




@cache
def limits() -> dict[str, Any]:
    """Return the time limits per kind (service/data/deadlines.toml)."""
    return tomllib.loads(resources.files("service").joinpath("data/deadlines.toml").read_text("utf-8"))


def _hm(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


@dataclass(frozen=True)
class Deadline:
    """A due time, provisional when it depends on a year whose holidays are unknown."""

    due: datetime
    provisional: bool
    reason: str | None


def _half_ends(d: date) -> tuple[datetime, datetime]:
    hours = limits()["office_hours"]
    return (datetime.combine(d, _hm(hours["morning_end"]), LOCAL_TZ), datetime.combine(d, _hm(hours["afternoon_end"]), LOCAL_TZ))


def _halves_paused(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Working half-days whose end falls inside [start, end): the time a pause takes off the clock."""
    n, d = 0, start.astimezone(LOCAL_TZ).date()
    while d <= end.astimezone(LOCAL_TZ).date():
        if cal.is_working_day(d):
            n += sum(1 for t in _half_ends(d) if start <= t < end)
        d += timedelta(days=1)
    return n


def add_working_days(
    start: datetime, days: float, pauses: list[tuple[datetime, datetime]] = (), cal: WorkingCalendar | None = None  # type: ignore[assignment]
) -> Deadline:
    """Return the due time `days` working days after the day of `start` (次日起算), extended by pauses.

    Half days count: 3.5 working days from a Monday end at noon on Friday.
    """
    cal = cal or calendar()
    halves = math.ceil(days * 2) + sum(_halves_paused(cal, a, b) for a, b in pauses)
    d = start.astimezone(LOCAL_TZ).date()
    unknown: set[int] = set()
    due = start
    while halves > 0:
        d += timedelta(days=1)
        if not cal.known(d.year):
            unknown.add(d.year)
        if cal.is_working_day(d):
            morning, afternoon = _half_ends(d)
            due = morning if halves == 1 else afternoon
            halves -= 2
    if not cal.known(start.astimezone(LOCAL_TZ).year):
        unknown.add(start.astimezone(LOCAL_TZ).year)
    reason = None
    if unknown:
        years = "、".join(str(y) for y in sorted(unknown))
        reason = f"{years}年节假日安排尚未发布，按周末推算（暂定）/ the {years} holiday schedule is not published yet; computed on weekends only (provisional)"
    return Deadline(due, bool(unknown), reason)


def working_days_between(start: datetime, end: datetime, cal: WorkingCalendar | None = None) -> float:
    """Return the working days from the day after `start` up to `end`, in half days."""
    cal = cal or calendar()
    if end <= start:
        return 0.0
    halves, d = 0, start.astimezone(LOCAL_TZ).date() + timedelta(days=1)
    while d <= end.astimezone(LOCAL_TZ).date():
        if cal.is_working_day(d):
            halves += sum(1 for t in _half_ends(d) if t <= end)
        d += timedelta(days=1)
    return halves / 2


def budgets(kind: str, green_channel: bool) -> tuple[float, float]:
    """Return the (statutory, promised) working-day limits of a kind."""
    spec = limits()[kind]
    promised = spec.get("green_channel_promised", spec["promised"]) if green_channel else spec["promised"]
    return float(spec["statutory"]), float(promised)


def step_budget(kind: str, state: str, green_channel: bool) -> float | None:
    """Return the working-day budget of one step (state) of a kind, None when the step has none."""
    steps = limits().get("steps", {})
    if green_channel and state in steps.get(f"{kind}_green_channel", {}):
        return float(steps[f"{kind}_green_channel"][state])
    value = steps.get(kind, {}).get(state)
    return None if value is None else float(value)


def step_due(entered: datetime, budget: float, cal: WorkingCalendar | None = None) -> Deadline:
    """Return when a step entered at `entered` is due: the same day's close for 0, else working days after."""
    if budget > 0:
        return add_working_days(entered, budget, cal=cal)
    cal = cal or calendar()
    day = entered.astimezone(LOCAL_TZ).date()
    while not cal.is_working_day(day):  # taken in on a day off: due at the close of the next working day
        day += timedelta(days=1)
    return Deadline(_half_ends(day)[1], not cal.known(day.year), None)


def _pauses(case: Case, at: datetime) -> list[tuple[datetime, datetime]]:
    return [(p.paused_at, p.resumed_at or at) for p in case.pauses]


def refresh(case: Case, at: datetime) -> None:
    """Recompute the case's two deadlines from its receipt, kind, green channel and pauses."""
    statutory, promised = budgets(case.kind, case.green_channel)
    pauses = _pauses(case, at)
    s = add_working_days(case.received_at, statutory, pauses)
    p = add_working_days(case.received_at, promised, pauses)
    case.statutory_due, case.promised_due = s.due, p.due
    case.deadline_provisional = s.provisional or p.provisional
    case.deadline_note = s.reason or p.reason


def _clock(case: Case, due: datetime | None, at: datetime) -> dict[str, Any]:
    from service.cases import DECIDED_STATES

    if due is None:
        return {"due": None, "provisional": False, "note": None, "status": None, "remaining_working_days": None}
    paused = any(p.resumed_at is None for p in case.pauses)
    if case.status in DECIDED_STATES:
        status = "done" if (case.decided_at or at) <= due else "done_late"
        remaining = None
    else:
        # while paused, the due time moves with the pause: count the open pause up to now
        if paused:
            statutory, promised = budgets(case.kind, case.green_channel)
            budget = statutory if due == case.statutory_due else promised
            due = add_working_days(case.received_at, budget, _pauses(case, at)).due
        remaining = working_days_between(at, due) if due > at else -working_days_between(due, at)
        status = "paused" if paused else "overdue" if at > due else "due_soon" if remaining <= 1 else "ok"
    return {
        "due": due.astimezone(LOCAL_TZ).isoformat(),
        "provisional": case.deadline_provisional,
        "note": case.deadline_note,
        "status": status,
        "remaining_working_days": remaining,
    }


def view(case: Case, at: datetime | None = None) -> dict[str, Any]:
    """Return both clocks as shown to people: due time, provisional flag and reason, status, days left."""
    at = at or datetime.now(LOCAL_TZ)
    out: dict[str, Any] = {"statutory": _clock(case, case.statutory_due, at), "promised": _clock(case, case.promised_due, at)}
    budget = step_budget(case.kind, case.status, case.green_channel)
    if budget is not None and case.state_entered_at is not None:
        d = step_due(case.state_entered_at, budget)
        out["step"] = {"state": case.status, "budget_working_days": budget, "due": d.due.astimezone(LOCAL_TZ).isoformat(),
                       "status": "overdue" if at > d.due else "ok", "provisional": d.provisional}  # fmt: skip
    else:
        out["step"] = None
    return out
