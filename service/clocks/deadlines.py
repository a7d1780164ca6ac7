"""The two deadline clocks of a case (statutory 法定时限 and promised 承诺时限), in Chinese working days, with pauses.

The limits are data (``service/data/deadlines.toml``); the working days come from :mod:`service.calendar`.
A pause (waiting for the applicant's supplementary materials, 补正) extends both deadlines by the working time
spent paused; a pause still open counts up to the moment the clocks are read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

from service.clocks.calendar import LOCAL_TZ, Deadline, OfficeHours, Pause, WorkingCalendar, local
from service.core.tables import data_path

RULES_FILE = data_path("deadlines.toml")

Status = Literal["ok", "due_soon", "overdue"]
DUE_SOON_WORKING_DAYS = Decimal(1)


class PauseLike(Protocol):
    """Anything with a pause start and an optional resume time (e.g. the ORM's case pause rows)."""

    @property
    def paused_at(self) -> datetime: ...  # noqa: D102

    @property
    def resumed_at(self) -> datetime | None: ...  # noqa: D102


@dataclass(frozen=True)
class PauseInterval:
    """The case waited for the applicant from paused_at until resumed_at (None: still waiting)."""

    paused_at: datetime
    resumed_at: datetime | None = None


PauseInput = PauseLike | tuple[datetime, datetime | None]


# ---- rules (data) ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRules:
    """The working-day budgets of one kind of application."""

    kind: str
    statutory: Decimal
    promised: Decimal
    green_channel_promised: Decimal | None = None
    steps: dict[str, Decimal] = field(default_factory=dict)
    green_channel_steps: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineRules:
    """All time limits: per kind, office hours, and the statutory announcement periods."""

    kinds: dict[str, KindRules]
    office_hours: OfficeHours = OfficeHours()
    pre_announcement_working_days: Decimal = Decimal(10)
    compensation_announcement_days: int = 30

    def kind(self, kind: str) -> KindRules:
        """Return the rules of a kind; ValueError for an unknown kind."""
        try:
            return self.kinds[kind]
        except KeyError:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(sorted(self.kinds))}") from None

    def budgets(self, kind: str, green_channel: bool = False) -> tuple[Decimal, Decimal]:
        """Return the (statutory, promised) working-day budgets; the green channel changes the promise only."""
        k = self.kind(kind)
        if not green_channel:
            return k.statutory, k.promised
        if k.green_channel_promised is None:
            raise ValueError(f"{kind} has no green channel (绿色通道)")
        return k.statutory, k.green_channel_promised

    def step_budget(self, kind: str, step: str, green_channel: bool = False) -> Decimal | None:
        """Return the working-day budget of one step (0 = same working day), None when the step has none."""
        k = self.kind(kind)
        if green_channel and step in k.green_channel_steps:
            return k.green_channel_steps[step]
        return k.steps.get(step)


def _days(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: working days must be a number, got {value!r}")
    d = Decimal(str(value))
    if d < 0 or (d * 2) % 1:
        raise ValueError(f"{where}: working days must be a non-negative multiple of 0.5, got {value!r}")
    return d


def _hm(value: str, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected HH:MM, got {value!r}") from exc


def parse_rules(raw: dict[str, Any], where: str = "deadlines.toml") -> DeadlineRules:
    """Build the rules from the parsed TOML of a deadlines file."""
    steps = raw.get("steps", {})
    kinds: dict[str, KindRules] = {}
    for name, spec in raw.items():
        if not (isinstance(spec, dict) and "statutory" in spec and "promised" in spec):
            continue
        green = spec.get("green_channel_promised")
        kinds[name] = KindRules(
            kind=name,
            statutory=_days(spec["statutory"], f"{where} [{name}].statutory"),
            promised=_days(spec["promised"], f"{where} [{name}].promised"),
            green_channel_promised=None if green is None else _days(green, f"{where} [{name}].green_channel_promised"),
            steps={s: _days(v, f"{where} [steps.{name}].{s}") for s, v in steps.get(name, {}).items()},
            green_channel_steps={
                s: _days(v, f"{where} [steps.{name}_green_channel].{s}")
                for s, v in steps.get(f"{name}_green_channel", {}).items()
            },
        )
    if not kinds:
        raise ValueError(f"{where}: no kind with statutory and promised limits")
    hours = raw.get("office_hours", {})
    ann = raw.get("announcements", {})
    comp = ann.get("compensation_announcement_days", 30)
    if isinstance(comp, bool) or not isinstance(comp, int) or comp < 1:
        raise ValueError(f"{where}: compensation_announcement_days must be a positive integer, got {comp!r}")
    return DeadlineRules(
        kinds=kinds,
        office_hours=OfficeHours(
            _hm(hours.get("morning_end", "12:00"), f"{where} [office_hours].morning_end"),
            _hm(hours.get("afternoon_end", "17:30"), f"{where} [office_hours].afternoon_end"),
        ),
        pre_announcement_working_days=_days(ann.get("pre_announcement_working_days", 10), f"{where} [announcements]"),
        compensation_announcement_days=comp,
    )


def load_rules(path: Path | str | None = None) -> DeadlineRules:
    """Read the rules from a deadlines TOML file (default: the package's service/data/deadlines.toml)."""
    p = Path(path) if path is not None else RULES_FILE
    return parse_rules(tomllib.loads(p.read_text("utf-8")), str(p))


@cache
def default_rules() -> DeadlineRules:
    """Return the package's rules, read once."""
    return load_rules()


# ---- readings --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockReading:
    """One clock as of a moment: due time (provisional or not), working days used and left, status."""

    budget: Decimal
    due: datetime
    provisional: bool
    reasons: list[str]
    used: Decimal
    remaining: Decimal
    status: Status

    def as_dict(self) -> dict[str, Any]:
        """Return the reading as JSON-ready values."""
        return {
            "budget_working_days": float(self.budget),
            "due": self.due.isoformat(),
            "provisional": self.provisional,
            "reasons": list(self.reasons),
            "used_working_days": float(self.used),
            "remaining_working_days": float(self.remaining),
            "status": self.status,
        }


@dataclass(frozen=True)
class CaseClocks:
    """Both clocks of a case as of a moment, and whether the case is paused then."""

    kind: str
    green_channel: bool
    received_at: datetime
    as_of: datetime
    paused: bool
    statutory: ClockReading
    promised: ClockReading

    def as_dict(self) -> dict[str, Any]:
        """Return both clocks as JSON-ready values."""
        return {
            "as_of": self.as_of.isoformat(),
            "paused": self.paused,
            "statutory": self.statutory.as_dict(),
            "promised": self.promised.as_dict(),
        }


def pauses_as_of(pauses: Sequence[PauseInput], now: datetime, *, clip: bool = True) -> tuple[list[Pause], bool]:
    """Return the pauses as known at `now` and whether one is open then.

    An open pause runs up to `now`. With `clip` (a reading as of `now`), pauses begun later are ignored and one
    resumed later is cut at `now`; without it, closed pauses are taken whole.
    """
    now = local(now)
    out: list[Pause] = []
    open_now = False
    for p in pauses:
        start, end = (p[0], p[1]) if isinstance(p, tuple) else (p.paused_at, p.resumed_at)
        start = local(start)
        if end is not None and local(end) < start:
            raise ValueError(f"a pause cannot end ({end}) before it starts ({start})")
        if end is None:
            if start <= now:
                open_now = True
                out.append((start, now))
            continue
        end = local(end)
        if clip and start > now:
            continue
        if clip and end > now:
            open_now, end = True, now
        out.append((start, end))
    return out, open_now


class DeadlineClock:
    """Computes a case's statutory and promised deadlines, step deadlines and announcement periods."""

    def __init__(self, calendar: WorkingCalendar | None = None, rules: DeadlineRules | None = None) -> None:
        self.rules = rules or default_rules()
        self.calendar = calendar or WorkingCalendar(hours=self.rules.office_hours)

    def due_dates(
        self,
        received_at: datetime,
        kind: str,
        *,
        green_channel: bool = False,
        pauses: Sequence[PauseInput] = (),
        now: datetime | None = None,
    ) -> tuple[Deadline, Deadline]:
        """Return the (statutory, promised) deadlines; an open pause counts up to `now` (default: the present)."""
        statutory, promised = self.rules.budgets(kind, green_channel)
        spans, _ = pauses_as_of(pauses, now or datetime.now(tz=LOCAL_TZ), clip=False)
        return (
            self.calendar.add_working_days(received_at, statutory, spans),
            self.calendar.add_working_days(received_at, promised, spans),
        )

    def read(
        self,
        received_at: datetime,
        kind: str,
        *,
        green_channel: bool = False,
        pauses: Sequence[PauseInput] = (),
        now: datetime | None = None,
    ) -> CaseClocks:
        """Return both clocks as of `now` (default: the present; for a decided case pass the decision time)."""
        received_at = local(received_at)
        now = local(now) if now is not None else datetime.now(tz=LOCAL_TZ)
        spans, paused = pauses_as_of(pauses, now)
        statutory, promised = self.rules.budgets(kind, green_channel)
        used = self.calendar.working_days_between(received_at, now, spans)
        return CaseClocks(
            kind=kind,
            green_channel=green_channel,
            received_at=received_at,
            as_of=now,
            paused=paused,
            statutory=self._reading(received_at, statutory, spans, used, now),
            promised=self._reading(received_at, promised, spans, used, now),
        )

    def _reading(
        self, received_at: datetime, budget: Decimal, spans: list[Pause], used: Decimal, now: datetime
    ) -> ClockReading:
        d = self.calendar.add_working_days(received_at, budget, spans)
        remaining = budget - used
        status: Status = "overdue" if now > d.due else "due_soon" if remaining <= DUE_SOON_WORKING_DAYS else "ok"
        return ClockReading(budget, d.due, d.provisional, list(d.reasons), used, remaining, status)

    def step_due(
        self,
        entered_at: datetime,
        kind: str,
        step: str,
        *,
        green_channel: bool = False,
        pauses: Sequence[PauseInput] = (),
        now: datetime | None = None,
    ) -> Deadline | None:
        """Return when a step (a case state) entered at `entered_at` is due; None when the step has no budget."""
        budget = self.rules.step_budget(kind, step, green_channel)
        if budget is None:
            return None
        spans, _ = pauses_as_of(pauses, now or datetime.now(tz=LOCAL_TZ), clip=False)
        return self.calendar.add_working_days(entered_at, budget, spans)

    def pre_announcement_end(self, published_at: datetime) -> Deadline:
        """Return when the requisition pre-announcement (预公告, ≥ 10 working days) has run its minimum time."""
        return self.calendar.add_working_days(published_at, self.rules.pre_announcement_working_days)

    def compensation_announcement_end(self, published_at: datetime) -> Deadline:
        """Return when the compensation plan announcement (≥ 30 calendar days) has run its minimum time."""
        return self.calendar.add_calendar_days(published_at, self.rules.compensation_announcement_days)
