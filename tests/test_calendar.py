"""Working calendar: weekends, holidays, adjusted workdays, half days, pauses, override files, unknown years."""

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.clocks.calendar import (
    LOCAL_TZ,
    PACKAGE_DIR,
    CalendarFileError,
    OfficeHours,
    WorkingCalendar,
    unknown_year_reason,
)

FIXTURE_2027 = Path(__file__).resolve().parent / "data" / "calendar" / "2027.toml"  # a test fixture, not official
REASON_2027 = (
    "2027年节假日安排尚未发布，按周末推算 / the 2027 holiday schedule is not published yet; computed on weekends only"
)


def at(*a: int) -> datetime:
    return datetime(*a, tzinfo=LOCAL_TZ)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# ---- days ----------------------------------------------------------------------------------------------------------


def test_national_day_2025_and_its_adjusted_workdays(cal):
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday, worked (调休)
    assert not any(cal.is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday, worked
    assert not cal.is_working_day(date(2025, 10, 12))
    assert cal.holiday_name(date(2025, 10, 1)) == "国庆节"
    assert cal.holiday_name(date(2025, 10, 6)) == "中秋节"
    assert cal.holiday_name(date(2025, 9, 28)) is None and cal.holiday_name(date(2025, 10, 12)) is None


def test_known_years(cal):
    assert cal.known_year(2004) and cal.known_year(2025) and cal.known_year(2026)
    assert not cal.known_year(2027) and not cal.known_year(2003)
    # an unknown year: Monday to Friday, even 1 January
    assert cal.is_working_day(date(2027, 1, 1)) and not cal.is_working_day(date(2027, 1, 2))


def test_no_official_2027_file_is_shipped():
    assert not (PACKAGE_DIR / "2027.toml").exists()
    assert (PACKAGE_DIR / "README.md").exists()


def test_is_working_day_accepts_a_datetime(cal):
    assert cal.is_working_day(at(2025, 9, 28, 10, 0))
    # 20:00 UTC on Tuesday 30 September is 04:00 on 1 October in China
    assert not cal.is_working_day(datetime(2025, 9, 30, 20, 0, tzinfo=UTC))


# ---- adding working days -------------------------------------------------------------------------------------------


def test_counting_starts_the_next_day_and_skips_the_weekend(cal):
    received = at(2026, 11, 20, 10, 0)  # Friday
    assert cal.add_working_days(received, 1).due == at(2026, 11, 23, 17, 30)
    d = cal.add_working_days(received, 3)  # Mon, Tue, Wed
    assert d.due == at(2026, 11, 25, 17, 30) and not d.provisional and d.reasons == []
    # received on the Saturday or after the close on Friday: the same
    assert cal.add_working_days(at(2026, 11, 21, 9, 0), 3).due == at(2026, 11, 25, 17, 30)
    assert cal.add_working_days(at(2026, 11, 20, 19, 0), 3).due == at(2026, 11, 25, 17, 30)


def test_half_days_end_at_noon(cal):
    received = at(2026, 11, 20, 10, 0)
    assert cal.add_working_days(received, 0.5).due == at(2026, 11, 23, 12, 0)
    assert cal.add_working_days(received, 3.5).due == at(2026, 11, 26, 12, 0)
    assert cal.add_working_days(received, Decimal("3.5")).due == at(2026, 11, 26, 12, 0)


def test_zero_days_is_the_same_working_day(cal):
    assert cal.add_working_days(at(2026, 11, 20, 10, 0), 0).due == at(2026, 11, 20, 17, 30)
    assert cal.add_working_days(at(2026, 11, 21, 10, 0), 0).due == at(2026, 11, 23, 17, 30)  # Saturday: Monday
    assert cal.add_working_days(at(2026, 11, 20, 17, 45), 0).due == at(2026, 11, 23, 17, 30)  # after the close


def test_across_national_day_2025(cal):
    received = at(2025, 9, 26, 9, 0)  # Friday; Sun 28, Mon 29, Tue 30 worked, 1–8 Oct off
    assert cal.add_working_days(received, 3).due == at(2025, 9, 30, 17, 30)
    assert cal.add_working_days(received, 4).due == at(2025, 10, 9, 17, 30)
    assert cal.add_working_days(received, 6).due == at(2025, 10, 11, 17, 30)  # the worked Saturday
    assert cal.add_working_days(received, 7).due == at(2025, 10, 13, 17, 30)
    assert cal.add_working_days(received, 20).due == at(2025, 10, 30, 17, 30)
    assert cal.add_working_days(at(2025, 9, 30, 16, 0), 0.5).due == at(2025, 10, 9, 12, 0)


def test_across_spring_festival_2026(cal):
    assert not cal.is_working_day(date(2026, 2, 16)) and cal.is_working_day(date(2026, 2, 14))  # Saturday worked
    assert cal.holiday_name(date(2026, 2, 17)) == "春节"
    received = at(2026, 2, 13, 9, 0)  # Friday; Sat 14 worked, 15–23 Feb off, Sat 28 worked
    assert cal.add_working_days(received, 1).due == at(2026, 2, 14, 17, 30)
    assert cal.add_working_days(received, 2).due == at(2026, 2, 24, 17, 30)
    assert cal.add_working_days(received, 3.5).due == at(2026, 2, 26, 12, 0)
    assert cal.add_working_days(received, 6).due == at(2026, 2, 28, 17, 30)
    assert cal.add_working_days(received, 7).due == at(2026, 3, 2, 17, 30)


def test_a_pause_takes_the_working_halves_it_covers_off_the_clock(cal):
    received = at(2026, 11, 23, 9, 0)  # Monday
    assert cal.add_working_days(received, 3.5).due == at(2026, 11, 27, 12, 0)
    # paused Tue 10:00 to Wed 15:00: Tue morning, Tue afternoon and Wed morning are off the clock
    pause = (at(2026, 11, 24, 10, 0), at(2026, 11, 25, 15, 0))
    assert cal.add_working_days(received, 3.5, [pause]).due == at(2026, 11, 30, 17, 30)
    assert cal.working_days_between(received, at(2026, 11, 30, 17, 30), [pause]) == Decimal("3.5")
    # a pause on a weekend costs nothing
    weekend = (at(2026, 11, 28, 9, 0), at(2026, 11, 29, 18, 0))
    assert cal.add_working_days(received, 3.5, [weekend]).due == at(2026, 11, 27, 12, 0)
    with pytest.raises(ValueError, match="before it starts"):
        cal.add_working_days(received, 1, [(pause[1], pause[0])])


def test_times_are_china_time(cal):
    # 02:00 UTC is 10:00 in China; a naive datetime is taken as China time
    assert cal.add_working_days(datetime(2026, 11, 20, 2, 0, tzinfo=UTC), 1).due == at(2026, 11, 23, 17, 30)
    assert cal.add_working_days(datetime(2026, 11, 20, 10, 0), 1).due == at(2026, 11, 23, 17, 30)
    # 20:00 UTC on Friday is already Saturday in China: counting starts on Sunday, the due is still Monday
    assert cal.add_working_days(datetime(2026, 11, 20, 20, 0, tzinfo=UTC), 1).due == at(2026, 11, 23, 17, 30)


@pytest.mark.parametrize("days", [-1, 0.3, Decimal("1.25"), float("nan")])
def test_days_must_be_whole_or_half(cal, days):
    with pytest.raises(ValueError, match="multiple of 0.5"):
        cal.add_working_days(at(2026, 11, 20, 10, 0), days)


def test_office_hours_are_configurable():
    cal = WorkingCalendar(
        hours=OfficeHours(
            morning_end=datetime(2000, 1, 1, 11, 30).time(), afternoon_end=datetime(2000, 1, 1, 17, 0).time()
        )
    )
    assert cal.add_working_days(at(2026, 11, 20, 10, 0), 0.5).due == at(2026, 11, 23, 11, 30)
    assert cal.add_working_days(at(2026, 11, 20, 10, 0), 1).due == at(2026, 11, 23, 17, 0)
    with pytest.raises(ValueError):
        OfficeHours(morning_end=datetime(2000, 1, 1, 18, 0).time())


# ---- counting between ----------------------------------------------------------------------------------------------


def test_working_days_between(cal):
    received = at(2026, 11, 20, 10, 0)
    assert cal.working_days_between(received, at(2026, 11, 20, 17, 30)) == 0  # the day of receipt does not count
    assert cal.working_days_between(received, at(2026, 11, 23, 11, 59)) == 0
    assert cal.working_days_between(received, at(2026, 11, 23, 12, 0)) == Decimal("0.5")
    assert cal.working_days_between(received, at(2026, 11, 26, 12, 0)) == Decimal("3.5")
    assert cal.working_days_between(at(2025, 9, 26, 9, 0), at(2025, 10, 30, 17, 30)) == 20
    assert cal.working_days_between(at(2026, 11, 26, 12, 0), received) == 0  # backwards: nothing


# ---- unknown years and override files -----------------------------------------------------------------------------


def test_a_case_running_into_2027_is_provisional_until_the_year_file_is_loaded(cal):
    received = at(2026, 12, 20, 10, 0)  # a Sunday
    before = cal.add_working_days(received, 20)
    # Dec 21–25, 28–31 (9), Fri 1 Jan counted on weekends only (10), Jan 4–8, 11–15 (20)
    assert before.due == at(2027, 1, 15, 17, 30)
    assert before.provisional and before.reasons == [REASON_2027] == [unknown_year_reason(2027)]
    assert cal.load_year_file(FIXTURE_2027) == 2027
    assert cal.known_year(2027) and cal.override(2027) is not None
    after = cal.add_working_days(received, 20)
    assert not after.provisional and after.reasons == []
    assert after.due == at(2027, 1, 18, 17, 30)  # the fixture's New Year holiday (1–3 Jan) moves it a working day
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.holiday_name(date(2027, 1, 1)) == "元旦"
    assert cal.is_working_day(date(2027, 2, 13))  # the fixture's adjusted Saturday
    assert cal.holiday_name(date(2027, 2, 8)) == "春节"
    # a file loaded one by one stays across reload()
    assert 2027 in cal.reload() and cal.known_year(2027)


def test_a_deadline_within_2026_is_not_provisional_even_when_received_late_in_december(cal):
    d = cal.add_working_days(at(2026, 12, 24, 10, 0), 4)  # Fri 25, Mon 28, Tue 29, Wed 30
    assert d.due == at(2026, 12, 30, 17, 30) and not d.provisional


def test_years_after_an_unknown_one_each_get_a_reason(cal):
    d = cal.add_working_days(at(2026, 12, 20, 10, 0), 300)
    assert d.due.year == 2028 and d.reasons == [unknown_year_reason(2027), unknown_year_reason(2028)]


def test_an_extra_folder_is_read_and_reload_picks_up_a_new_file(tmp_path):
    cal = WorkingCalendar(extra_dirs=[tmp_path])
    assert not cal.known_year(2027)
    shutil.copyfile(FIXTURE_2027, tmp_path / "2027.toml")
    assert not cal.known_year(2027)  # not until reloaded
    assert cal.reload() == [2027]
    assert cal.known_year(2027) and not cal.is_working_day(date(2027, 1, 1))
    assert WorkingCalendar(extra_dirs=[str(tmp_path)]).known_year(2027)
    (tmp_path / "notes.toml").write_text("not a year file", encoding="utf-8")  # ignored: not <year>.toml
    assert cal.reload() == [2027]


def test_an_override_file_replaces_a_year_the_package_knows(tmp_path):
    (tmp_path / "2026.toml").write_text(
        'year = 2026\nsource = "test"\nholidays = [{ name = "测试假", from = 2026-11-23, to = 2026-11-24 }]\n'
        "workdays = [2026-11-28]\n",
        encoding="utf-8",
    )
    cal = WorkingCalendar(extra_dirs=[tmp_path])
    assert not cal.is_working_day(date(2026, 11, 23)) and cal.holiday_name(date(2026, 11, 23)) == "测试假"
    assert cal.is_working_day(date(2026, 11, 28))
    assert cal.is_working_day(date(2026, 10, 1))  # the whole year is replaced: National Day is not in this file
    assert cal.add_working_days(at(2026, 11, 20, 10, 0), 3).due == at(2026, 11, 27, 17, 30)  # Wed, Thu, Fri


BAD_FILES = {
    "outside": ('year = 2028\nholidays = [{ name = "x", from = 2029-01-01, to = 2029-01-02 }]\n', "outside 2028"),
    "syntax": ("year = \n", "malformed"),
    "no year": ('holidays = [{ name = "x", from = 2028-01-01, to = 2028-01-02 }]\n', "missing 'year'"),
    "no to": ('year = 2028\nholidays = [{ name = "x", from = 2028-01-01 }]\n', "missing 'to'"),
    "no name": ("year = 2028\nholidays = [{ from = 2028-01-01, to = 2028-01-02 }]\n", "no name"),
    "backwards": ('year = 2028\nholidays = [{ name = "x", from = 2028-01-03, to = 2028-01-01 }]\n', "ends before"),
    "string date": ('year = 2028\nworkdays = ["2028-01-08"]\n', "must be a date"),
    "weekday workday": ("year = 2028\nworkdays = [2028-01-05]\n", "not a Saturday or Sunday"),
    "both": (
        'year = 2028\nholidays = [{ name = "x", from = 2028-01-08, to = 2028-01-09 }]\nworkdays = [2028-01-08]\n',
        "both",
    ),
    "year type": ('year = "2028"\n', "integer"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_malformed_year_file_is_refused_with_its_reason(tmp_path, case):
    text, message = BAD_FILES[case]
    bad = tmp_path / "2028.toml"
    bad.write_text(text, encoding="utf-8")
    cal = WorkingCalendar()
    with pytest.raises(CalendarFileError, match=message) as exc:
        cal.load_year_file(bad)
    assert str(bad) in str(exc.value)
    assert not cal.known_year(2028)
    with pytest.raises(CalendarFileError):
        WorkingCalendar(extra_dirs=[tmp_path])


def test_the_file_name_must_match_its_year(tmp_path):
    wrong = tmp_path / "2029.toml"
    wrong.write_text("year = 2028\n", encoding="utf-8")
    with pytest.raises(CalendarFileError, match="does not match"):
        WorkingCalendar().load_year_file(wrong)
    with pytest.raises(CalendarFileError, match="malformed"):
        WorkingCalendar().load_year_file(tmp_path / "2030.toml")  # missing


# ---- calendar-day periods ------------------------------------------------------------------------------------------


def test_calendar_day_periods_end_on_a_working_day(cal):
    assert cal.add_calendar_days(at(2026, 11, 2, 10, 0), 30).due == at(2026, 12, 2, 17, 30)
    assert cal.add_calendar_days(at(2026, 9, 1, 10, 0), 30).due == at(2026, 10, 8, 17, 30)  # 1 Oct is a holiday
    d = cal.add_calendar_days(at(2026, 12, 2, 10, 0), 30)  # 1 January 2027: weekends only, so a working day
    assert d.due == at(2027, 1, 1, 17, 30) and d.provisional
    with pytest.raises(ValueError):
        cal.add_calendar_days(at(2026, 11, 2, 10, 0), 0)


# ---- properties ----------------------------------------------------------------------------------------------------

CAL = WorkingCalendar()
starts = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda t: t.replace(tzinfo=LOCAL_TZ)
)
half_days = st.integers(min_value=1, max_value=200).map(lambda n: Decimal(n) / 2)


@settings(max_examples=150, deadline=None)
@given(start=starts, days=half_days)
def test_adding_then_counting_gives_the_same_days(start, days):
    d = CAL.add_working_days(start, days)
    assert CAL.working_days_between(start, d.due) == days
    assert CAL.is_working_day(d.due.date())
    assert d.due.timetz().replace(tzinfo=None) in (CAL.hours.morning_end, CAL.hours.afternoon_end)
    assert d.due.date() > start.date()
    unknown = [y for y in range((start.date() + timedelta(days=1)).year, d.due.year + 1) if not CAL.known_year(y)]
    assert d.provisional == bool(unknown) and d.reasons == [unknown_year_reason(y) for y in unknown]


@settings(max_examples=100, deadline=None)
@given(start=starts, days=half_days)
def test_monotonic_in_days(start, days):
    assert CAL.add_working_days(start, days).due < CAL.add_working_days(start, days + Decimal("0.5")).due
    # 0 days (the same working day) comes first when received on a working day before the close; received on a day
    # off or after the close, it is the next working day's close, after the 0.5 day due at its noon
    if CAL.is_working_day(start.date()) and start < CAL.half_ends(start.date())[1]:
        assert CAL.add_working_days(start, 0).due < CAL.add_working_days(start, days).due


@settings(max_examples=100, deadline=None)
@given(
    start=starts,
    days=half_days,
    pause_offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    pause_length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_a_pause_never_brings_the_due_time_forward(start, days, pause_offset, pause_length):
    pause = (start + pause_offset, start + pause_offset + pause_length)
    plain = CAL.add_working_days(start, days).due
    paused = CAL.add_working_days(start, days, [pause])
    assert paused.due >= plain
    assert CAL.is_working_day(paused.due.date())
    assert CAL.working_days_between(start, paused.due, [pause]) == days
