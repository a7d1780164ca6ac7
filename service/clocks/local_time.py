"""Times as people read them: stored in UTC, shown in Beijing time (Asia/Shanghai) on every page, document and
spreadsheet. The one place a stored time becomes text for a person."""

from __future__ import annotations

from datetime import UTC, datetime

from service.clocks.calendar import LOCAL_TZ

__all__ = ["LOCAL_TZ", "local", "local_day", "local_day_zh", "local_minute"]


def local(t: datetime | str | None) -> datetime | None:
    """Return a time (aware datetime or ISO text with an offset) in Beijing time; a naive time is taken as UTC."""
    if t is None or t == "":
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if t.tzinfo is None:  # the database's timestamptz always carries a zone: a naive one can only be UTC
        t = t.replace(tzinfo=UTC)
    return t.astimezone(LOCAL_TZ)


def local_minute(t: datetime | str | None, empty: str = "") -> str:
    """Return a time as `2026-12-02 13:48`, Beijing time."""
    lt = local(t)
    return lt.strftime("%Y-%m-%d %H:%M") if lt else empty


def local_day(t: datetime | str | None, empty: str = "") -> str:
    """Return the Beijing date of a time as `2026-12-02`."""
    lt = local(t)
    return lt.strftime("%Y-%m-%d") if lt else empty


def local_day_zh(t: datetime | str | None, empty: str = "") -> str:
    """Return the Beijing date of a time as documents print it: `2026年12月02日`."""
    lt = local(t)
    return lt.strftime("%Y年%m月%d日") if lt else empty
