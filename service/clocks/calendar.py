"""Chinese working days and working-day arithmetic in half days, pure Python (no database).

Sources, later ones winning for a whole year:

1. the `chinesecalendar` package (2004–2026: weekends, statutory holidays, adjusted weekend workdays 调休);
2. override files ``<year>.toml`` in ``service/data/calendar/``;
3. override files in extra folders given by the caller (e.g. ``<data_dir>/calendar/``), or single files loaded
   with :meth:`WorkingCalendar.load_year_file`.

A year that no source knows is computed on weekends only, and every result that depends on it is marked
provisional with a reason in Chinese and English.

Counting rules (see ``service/data/calendar/README.md``):

* 次日起算: for something received on day D (at any time, even on a day off), counting starts on the next day.
* A working day has two halves: the morning half ends at 12:00, the afternoon half at 17:30 (office close).
  A due time is always the end of a half: ``n`` days end at the close of the n-th working day, ``n + 0.5`` days
  at noon of the day after that.
* 0 days means the same working day: the close of the day of receipt, or of the next working day when received
  on a day off or after the close.
* A pause (waiting for the applicant's 补正) takes off the clock every working half whose end falls inside it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from service.core.tables import data_path

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PACKAGE_DIR = data_path("calendar")
_MAX_SCAN_DAYS = 366 * 100  # no deadline lies a century away: stop a runaway scan

# chinesecalendar names holidays in English only
_HOLIDAY_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

Pause = tuple[datetime, datetime]
"""A closed interval [paused at, resumed at) in which the clock does not run."""


class CalendarFileError(ValueError):
    """A holiday override file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class OfficeHours:
    """Where the two halves of a working day end."""

    morning_end: time = time(12, 0)
    afternoon_end: time = time(17, 30)

    def __post_init__(self) -> None:
        if not self.morning_end < self.afternoon_end:
            raise ValueError(f"morning end {self.morning_end} must be before afternoon end {self.afternoon_end}")


@dataclass(frozen=True)
class Deadline:
    """A due time; provisional (with reasons) when it depends on a year whose holidays are not known."""

    due: datetime
    provisional: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class YearSchedule:
    """One year's holidays and adjusted workdays from an override file."""

    year: int
    holidays: dict[date, str]
    workdays: frozenset[date]
    source: str | None = None
    path: Path | None = None


def unknown_year_reason(year: int) -> str:
    """Return the bilingual reason shown beside a deadline that depends on an unknown year."""
    return f"{year}年节假日安排尚未发布，按周末推算 / the {year} holiday schedule is not published yet; computed on weekends only"


def local(t: datetime) -> datetime:
    """Return t in China time; a naive datetime is taken to be China time already."""
    return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t.astimezone(LOCAL_TZ)


def _as_date(value: Any, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise CalendarFileError(f"{what} 应为日期 / must be a date (YYYY-MM-DD), got {value!r}")
    return value


def parse_year_file(path: Path) -> YearSchedule:
    """Read and validate one ``<year>.toml`` override file."""
    try:
        raw = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CalendarFileError(f"{path}: 节假日文件无法读取 / malformed holiday file: {exc}") from exc
    try:
        year = raw["year"]
        if not isinstance(year, int) or isinstance(year, bool):
            raise CalendarFileError(f"year 应为整数 / year must be an integer, got {year!r}")
        holidays: dict[date, str] = {}
        for i, h in enumerate(raw.get("holidays", [])):
            if not isinstance(h, dict):
                raise CalendarFileError(f"holidays[{i}] 应为表 / must be a table {{ name, from, to }}")
            name = str(h.get("name", "")).strip()
            if not name:
                raise CalendarFileError(f"holidays[{i}] 缺少名称 / has no name")
            first, last = _as_date(h["from"], f"holidays[{i}].from"), _as_date(h["to"], f"holidays[{i}].to")
            if last < first:
                raise CalendarFileError(f"holidays[{i}] ({name}): to {last} 早于 from {first} / ends before it starts")
            d = first
            while d <= last:
                holidays[d] = name
                d += timedelta(days=1)
        workdays = frozenset(_as_date(w, f"workdays[{i}]") for i, w in enumerate(raw.get("workdays", [])))
    except KeyError as exc:
        raise CalendarFileError(f"{path}: 缺少字段 / malformed holiday file: missing {exc}") from exc
    except CalendarFileError as exc:
        raise CalendarFileError(f"{path}: {exc}") from exc
    outside = sorted(d for d in (*holidays, *workdays) if d.year != year)
    if outside:
        raise CalendarFileError(f"{path}: {outside[0]} 不属于 {year} 年 / a date lies outside {year}")
    both = sorted(workdays & holidays.keys())
    if both:
        raise CalendarFileError(f"{path}: {both[0]} 既是假日又是调休上班日 / is both a holiday and a workday")
    weekdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekdays:
        raise CalendarFileError(
            f"{path}: 调休上班日 {weekdays[0]} 不是周末 / adjusted workday is not a Saturday or Sunday"
        )
    if Path(path).stem.isdigit() and int(Path(path).stem) != year:
        raise CalendarFileError(f"{path}: 文件名与 year = {year} 不符 / file name does not match year = {year}")
    source = raw.get("source")
    return YearSchedule(year, holidays, workdays, None if source is None else str(source), Path(path))


class WorkingCalendar:
    """Chinese working days from chinesecalendar plus per-year override files; unknown years on weekends only."""

    def __init__(
        self,
        extra_dirs: Iterable[Path | str] = (),
        *,
        hours: OfficeHours | None = None,
        package_dir: Path | None = PACKAGE_DIR,
    ) -> None:
        self.hours = hours or OfficeHours()
        self._dirs = [p for p in (package_dir,) if p is not None] + [Path(p) for p in extra_dirs]
        self._files: list[Path] = []
        self._years: dict[int, YearSchedule] = {}
        self.reload()

    # ---- sources -------------------------------------------------------------------------------------------

    def reload(self) -> list[int]:
        """Re-read every override folder and file; return the years that have an override file."""
        years: dict[int, YearSchedule] = {}
        for folder in self._dirs:
            if folder.is_dir():
                for path in sorted(folder.glob("[0-9][0-9][0-9][0-9].toml")):
                    s = parse_year_file(path)
                    years[s.year] = s
        for path in self._files:
            s = parse_year_file(path)
            years[s.year] = s
        self._years = years
        return sorted(years)

    def load_year_file(self, path: Path | str) -> int:
        """Load one year's override file (kept across reload()); return its year."""
        s = parse_year_file(Path(path))
        self._files = [p for p in self._files if p != Path(path)] + [Path(path)]
        self._years[s.year] = s
        return s.year

    def override(self, year: int) -> YearSchedule | None:
        """Return the override schedule loaded for a year, if any."""
        return self._years.get(year)

    def known_year(self, year: int) -> bool:
        """Return whether the year's holidays are known (override file or chinesecalendar)."""
        return year in self._years or _package_knows(year)

    # ---- days ----------------------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Return whether d is a working day (for an unknown year: Monday to Friday)."""
        if isinstance(d, datetime):
            d = local(d).date()
        s = self._years.get(d.year)
        if s is not None:
            return d in s.workdays or (d.weekday() < 5 and d not in s.holidays)
        if _package_knows(d.year):
            return _package_is_workday(d)
        return d.weekday() < 5

    def holiday_name(self, d: date) -> str | None:
        """Return the statutory holiday's name if d is a day off for one, else None."""
        s = self._years.get(d.year)
        if s is not None:
            return s.holidays.get(d)
        if not _package_knows(d.year) or _package_is_workday(d):
            return None
        on_holiday, name = chinese_calendar.get_holiday_detail(d)
        return _HOLIDAY_ZH.get(name, name) if on_holiday and name else None

    def next_working_day(self, d: date, *, include: bool = False) -> date:
        """Return the first working day after d (or d itself when include and d is one)."""
        d = d if include else d + timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(d):
                return d
            d += timedelta(days=1)
        raise RuntimeError(f"no working day within a century after {d}")

    def half_ends(self, d: date) -> tuple[datetime, datetime]:
        """Return the ends of the morning and the afternoon half of day d."""
        return (
            datetime.combine(d, self.hours.morning_end, LOCAL_TZ),
            datetime.combine(d, self.hours.afternoon_end, LOCAL_TZ),
        )

    # ---- arithmetic ----------------------------------------------------------------------------------------

    def add_working_days(self, start: datetime, days: Decimal | float | int, pauses: Sequence[Pause] = ()) -> Deadline:
        """Return the due time `days` working days (half days allowed) after `start`, counted from the next day."""
        halves = _halves(days)
        start = local(start)
        spans = _normalise(pauses)
        unknown: set[int] = set()
        if halves == 0:
            day = start.date()
            if start >= self.half_ends(day)[1]:  # after the close: the next working day
                day += timedelta(days=1)
            first = day
            day = self.next_working_day(day, include=True)
            unknown |= self._unknown_between(first, day)
            return self._deadline(self.half_ends(day)[1], unknown)
        d = start.date()
        for _ in range(_MAX_SCAN_DAYS):
            d += timedelta(days=1)
            if not self.known_year(d.year):
                unknown.add(d.year)
            if not self.is_working_day(d):
                continue
            for end in self.half_ends(d):
                if not _paused(end, spans):
                    halves -= 1
                    if halves == 0:
                        return self._deadline(end, unknown)
        raise RuntimeError(f"no due time within a century after {start}")

    def working_days_between(self, a: datetime, b: datetime, pauses: Sequence[Pause] = ()) -> Decimal:
        """Return the working days from `a` to `b` (counted from the day after a, in halves ended by b; 0 if b ≤ a)."""
        a, b = local(a), local(b)
        spans = _normalise(pauses)
        halves = 0
        d = a.date() + timedelta(days=1)
        while d <= b.date():
            if self.is_working_day(d):
                halves += sum(1 for end in self.half_ends(d) if end <= b and not _paused(end, spans))
            d += timedelta(days=1)
        return Decimal(halves) / 2

    def add_calendar_days(self, start: datetime, days: int) -> Deadline:
        """Return the end of a period of `days` calendar days from `start` (次日起算; a last day off moves on).

        Civil Code arts. 201 and 203: the first day is not counted; when the last day is a day off, the period
        ends on the next working day; with business hours, it ends at the close of business.
        """
        if days < 1:
            raise ValueError(f"a calendar-day period needs at least one day, got {days}")
        last = local(start).date() + timedelta(days=days)
        moved = self.next_working_day(last, include=True)
        return self._deadline(self.half_ends(moved)[1], self._unknown_between(last, moved))

    # ---- helpers -------------------------------------------------------------------------------------------

    def _unknown_between(self, first: date, last: date) -> set[int]:
        return {y for y in range(first.year, last.year + 1) if not self.known_year(y)}

    @staticmethod
    def _deadline(due: datetime, unknown: set[int]) -> Deadline:
        return Deadline(due, bool(unknown), [unknown_year_reason(y) for y in sorted(unknown)])


@cache
def _package_is_workday(d: date) -> bool:
    # chinesecalendar validates every date against its whole table: slow in a scan, and its data never changes
    return bool(chinese_calendar.is_workday(d))


def _package_knows(year: int) -> bool:
    return year in _package_years()


@cache
def _package_years() -> frozenset[int]:
    known = set()
    for y in range(1990, 2100):
        try:
            chinese_calendar.is_workday(date(y, 6, 1))
        except NotImplementedError:
            continue
        known.add(y)
    return frozenset(known)


def _halves(days: Decimal | float | int) -> int:
    value = Decimal(str(days)) if isinstance(days, float) else Decimal(days)
    if not value.is_finite() or value < 0 or (value * 2) % 1 != 0:
        raise ValueError(f"working days must be a non-negative multiple of 0.5, got {days}")
    return int(value * 2)


def _normalise(pauses: Sequence[Pause]) -> list[Pause]:
    out = []
    for a, b in pauses:
        a, b = local(a), local(b)
        if b < a:
            raise ValueError(f"a pause cannot end ({b}) before it starts ({a})")
        out.append((a, b))
    return out


def _paused(t: datetime, spans: Sequence[Pause]) -> bool:
    return any(a <= t < b for a, b in spans)
