"""Working-day deadlines: weekends, holidays and adjusted workdays, half days, pauses, unknown years."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.clocks import LOCAL_TZ, CalendarError, WorkingCalendar, add_working_days, budgets, working_days_between

FIXTURE_2027 = Path(__file__).resolve().parent / "data" / "calendar" / "2027.toml"


def at(*a):
    return datetime(*a, tzinfo=LOCAL_TZ)


def test_counting_starts_the_next_day_and_skips_the_weekend():
    # received Friday 2026-11-20: Mon, Tue, Wed are days 1–3
    d = add_working_days(at(2026, 11, 20, 10, 0), 3, cal=WorkingCalendar())
    assert d.due == at(2026, 11, 25, 17, 30) and not d.provisional


def test_half_days_end_at_noon():
    d = add_working_days(at(2026, 11, 20, 10, 0), 3.5, cal=WorkingCalendar())
    assert d.due == at(2026, 11, 26, 12, 0)
    assert add_working_days(at(2026, 11, 20, 16, 0), 0.5, cal=WorkingCalendar()).due == at(2026, 11, 23, 12, 0)


def test_national_day_2025_and_its_adjusted_workdays():
    cal = WorkingCalendar()
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday, worked
    assert not any(cal.is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday, worked
    # received Friday 26 Sept: Sun 28, Mon 29, Tue 30, then the holiday, then Thu 9 Oct
    assert add_working_days(at(2025, 9, 26, 9, 0), 4, cal=cal).due == at(2025, 10, 9, 17, 30)
    # 20 days: 28–30 Sept (3), 9–10 Oct, Sat 11 Oct, then 13 Oct onward … Thu 30 Oct is day 20
    assert add_working_days(at(2025, 9, 26, 9, 0), 20, cal=cal).due == at(2025, 10, 30, 17, 30)


def test_spring_festival_2026():
    cal = WorkingCalendar()
    assert not cal.is_working_day(date(2026, 2, 16)) and cal.is_working_day(date(2026, 2, 14))  # Saturday worked
    d = add_working_days(at(2026, 2, 13, 9, 0), 2, cal=cal)
    assert d.due == at(2026, 2, 24, 17, 30)  # Sat 14 (worked), then the holiday to 23 Feb, then Tue 24


def test_a_pause_extends_by_the_working_time_paused():
    start = at(2026, 11, 20, 10, 0)
    plain = add_working_days(start, 3.5, cal=WorkingCalendar()).due
    # paused Monday 09:00 to Tuesday 13:00: Monday morning, afternoon and Tuesday morning are off the clock
    paused = add_working_days(start, 3.5, [(at(2026, 11, 23, 9, 0), at(2026, 11, 24, 13, 0))], cal=WorkingCalendar()).due
    assert plain == at(2026, 11, 26, 12, 0)
    assert paused == at(2026, 11, 27, 17, 30)


def test_green_channel_and_limits_are_data():
    assert budgets("homestead", False) == (20.0, 3.5)
    assert budgets("requisition", False) == (45.0, 20.0)
    assert budgets("requisition", True) == (45.0, 5.0)


def test_unknown_year_is_provisional_until_its_file_is_loaded():
    cal = WorkingCalendar()
    d = add_working_days(at(2026, 12, 28, 10, 0), 5, cal=cal)
    assert d.provisional and "2027" in d.reason and "provisional" in d.reason
    assert d.due == at(2027, 1, 4, 17, 30)  # on weekends only, 1 January counts
    assert cal.load_year(FIXTURE_2027) == 2027
    d2 = add_working_days(at(2026, 12, 28, 10, 0), 5, cal=cal)
    assert not d2.provisional and d2.reason is None
    assert d2.due == at(2027, 1, 5, 17, 30)  # the fixture's New Year holiday moves it a day
    assert cal.is_working_day(date(2027, 2, 13))  # an adjusted Saturday


def test_malformed_year_file_is_refused(tmp_path):
    bad = tmp_path / "2028.toml"
    bad.write_text('year = 2028\nholidays = [{ name = "x", from = 2029-01-01, to = 2029-01-02 }]\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="outside 2028"):
        WorkingCalendar().load_year(bad)
    bad.write_text("year = \n", encoding="utf-8")
    with pytest.raises(CalendarError, match="malformed"):
        WorkingCalendar().load_year(bad)


@settings(max_examples=60, deadline=None)
@given(start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 1)), halves=st.integers(1, 60))
def test_adding_then_counting_gives_the_same_days(start, halves):
    cal = WorkingCalendar()
    start = start.replace(tzinfo=LOCAL_TZ)
    days = halves / 2
    due = add_working_days(start, days, cal=cal).due
    assert cal.is_working_day(due.date())
    assert working_days_between(start, due, cal=cal) == days
    assert add_working_days(start, days + 0.5, cal=cal).due > due
    assert due - start < timedelta(days=days * 3 + 12)


def test_loading_a_year_file_recomputes_open_cases(db_url, conn, staff, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from service.cli import app as cli
    from service.settings import Settings, get_settings
    from tests.support.api import Api
    from web.app import create_app

    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", db_url)
    monkeypatch.setenv("LANDWINDOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key="c" * 32))) as c:
            api = Api(c, staff)
            case = api.post("/api/v1/cases", json={"kind": "requisition", "applicant_name": "咸安区人民政府", "applicant_type": "unit"}).json()
        # a case received on 20 December 2026 runs into 2027, whose holidays no package knows yet
        conn.execute("UPDATE cases SET received_at = '2026-12-20 10:00+08' WHERE id = %s", (case["id"],))
        conn.commit()
        assert CliRunner().invoke(cli, ["calendar", "recompute"]).exit_code == 0
        row = conn.execute("SELECT statutory_due, deadline_provisional, deadline_note FROM cases WHERE id = %s", (case["id"],)).fetchone()
        received = at(2026, 12, 20, 10, 0)
        assert row[0] == add_working_days(received, 45, cal=WorkingCalendar()).due
        assert row[1] is True and "2027" in row[2]
        r = CliRunner().invoke(cli, ["calendar", "load", str(FIXTURE_2027)])
        assert r.exit_code == 0, r.output
        assert "2027 holiday schedule loaded; deadlines of 1 open cases recomputed" in r.stdout
        after = conn.execute("SELECT statutory_due, deadline_provisional, deadline_note FROM cases WHERE id = %s", (case["id"],)).fetchone()
        cal = WorkingCalendar()
        cal.load_year(FIXTURE_2027)
        assert after[1] is False and after[2] is None
        assert after[0] == add_working_days(received, 45, cal=cal).due
        assert (tmp_path / "calendar" / "2027.toml").exists()
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'deadline.recompute'").fetchone()[0] == 2
    finally:
        get_settings.cache_clear()


def test_step_budgets_are_data_and_the_green_channel_is_same_day():
    from service.clocks import step_budget, step_due

    assert step_budget("homestead", "received", False) == 0.5
    assert step_budget("requisition", "in_review", False) == 5
    assert step_budget("requisition", "in_review", True) == 0
    assert step_budget("homestead", "archived", False) is None
    cal = WorkingCalendar()
    assert step_due(at(2026, 11, 20, 10, 0), 0, cal=cal).due == at(2026, 11, 20, 17, 30)  # same working day
    assert step_due(at(2026, 11, 21, 10, 0), 0, cal=cal).due == at(2026, 11, 23, 17, 30)  # a Saturday: Monday
    assert step_due(at(2026, 11, 20, 10, 0), 0.5, cal=cal).due == at(2026, 11, 23, 12, 0)
