"""Deadline clocks: budgets as data, statutory and promised due times, pauses, green channel, status, unknown years."""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.clocks.calendar import LOCAL_TZ, WorkingCalendar, unknown_year_reason
from service.clocks.deadlines import DeadlineClock, PauseInterval, default_rules, load_rules, parse_rules, pauses_as_of

FIXTURE_2027 = Path(__file__).resolve().parent / "data" / "calendar" / "2027.toml"  # a test fixture, not official
REASON_2027 = (
    "2027年节假日安排尚未发布，按周末推算 / the 2027 holiday schedule is not published yet; computed on weekends only"
)


def at(*a: int) -> datetime:
    return datetime(*a, tzinfo=LOCAL_TZ)


@pytest.fixture
def clock() -> DeadlineClock:
    return DeadlineClock(WorkingCalendar())


MONDAY = at(2026, 11, 23, 9, 0)


# ---- rules ---------------------------------------------------------------------------------------------------------


def test_budgets_are_data():
    rules = default_rules()
    assert rules.budgets("homestead") == (Decimal(20), Decimal("3.5"))
    assert rules.budgets("requisition") == (Decimal(45), Decimal(20))
    assert rules.budgets("requisition", green_channel=True) == (Decimal(45), Decimal(5))
    assert rules.budgets("mining") == (Decimal(40), Decimal(20))  # [verify] in the data file
    assert rules.pre_announcement_working_days == 10 and rules.compensation_announcement_days == 30
    assert (rules.office_hours.morning_end.isoformat(), rules.office_hours.afternoon_end.isoformat()) == (
        "12:00:00",
        "17:30:00",
    )
    assert set(rules.kinds) == {"homestead", "requisition", "mining"}
    with pytest.raises(ValueError, match="no green channel"):
        rules.budgets("homestead", green_channel=True)
    with pytest.raises(ValueError, match="unknown kind"):
        rules.budgets("fishing")


def test_step_budgets_and_the_green_channel_same_day_steps():
    rules = default_rules()
    assert rules.step_budget("homestead", "received") == Decimal("0.5")
    assert [rules.step_budget("homestead", s) for s in ("in_review", "leader_approval", "approved")] == [1, 1, 1]
    assert rules.step_budget("requisition", "in_review") == 5
    assert rules.step_budget("requisition", "in_review", green_channel=True) == 0
    assert rules.step_budget("requisition", "pre_announcement", green_channel=True) == 12  # not a county step: as usual
    assert rules.step_budget("homestead", "archived") is None


def test_a_rules_file_is_validated(tmp_path):
    assert load_rules() == default_rules()
    f = tmp_path / "deadlines.toml"
    f.write_text("[homestead]\nstatutory = 20\npromised = 3.3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[homestead\]\.promised.*multiple of 0.5"):
        load_rules(f)
    with pytest.raises(ValueError, match="no kind"):
        parse_rules({"office_hours": {"morning_end": "12:00"}})
    with pytest.raises(ValueError, match="HH:MM"):
        parse_rules({"homestead": {"statutory": 20, "promised": 3.5}, "office_hours": {"morning_end": "noon"}})
    with pytest.raises(ValueError, match="positive integer"):
        parse_rules(
            {"homestead": {"statutory": 20, "promised": 3.5}, "announcements": {"compensation_announcement_days": 0}}
        )
    minimal = parse_rules({"homestead": {"statutory": 20, "promised": 3.5}})
    assert minimal.pre_announcement_working_days == 10 and minimal.kind("homestead").steps == {}


# ---- due times -----------------------------------------------------------------------------------------------------


def test_homestead_three_and_a_half_day_promise(clock):
    statutory, promised = clock.due_dates(MONDAY, "homestead")
    assert promised.due == at(2026, 11, 27, 12, 0)  # Tue, Wed, Thu, Friday morning
    assert statutory.due == at(2026, 12, 21, 17, 30)  # 20 working days
    assert not statutory.provisional and not promised.provisional


def test_across_national_day_2025(clock):
    _, promised = clock.due_dates(at(2025, 9, 26, 9, 0), "requisition")  # Sun 28 Sept and Sat 11 Oct worked
    assert promised.due == at(2025, 10, 30, 17, 30)
    _, promised = clock.due_dates(at(2025, 9, 29, 15, 0), "homestead")  # Tue 30, then 1–8 Oct off
    assert promised.due == at(2025, 10, 11, 12, 0)  # Tue 30, Thu 9, Fri 10, Saturday 11 morning


def test_across_spring_festival_2026(clock):
    _, promised = clock.due_dates(at(2026, 2, 13, 9, 0), "homestead")  # Sat 14 worked, 15–23 Feb off
    assert promised.due == at(2026, 2, 26, 12, 0)


def test_green_channel(clock):
    statutory, promised = clock.due_dates(MONDAY, "requisition", green_channel=True)
    assert promised.due == at(2026, 11, 30, 17, 30) and not promised.provisional  # 5 working days
    _, ordinary = clock.due_dates(MONDAY, "requisition")
    assert ordinary.due == at(2026, 12, 21, 17, 30)  # 20 working days
    # the statutory 45 days run into 2027 (1 January counted on weekends only): provisional, each clock on its own
    assert statutory.due == at(2027, 1, 25, 17, 30) and statutory.provisional and statutory.reasons == [REASON_2027]
    # the county's own steps the same day
    assert clock.step_due(MONDAY, "requisition", "in_review", green_channel=True).due == at(2026, 11, 23, 17, 30)
    assert clock.step_due(at(2026, 11, 21, 10, 0), "requisition", "leader_approval", green_channel=True).due == at(
        2026, 11, 23, 17, 30
    )
    assert clock.step_due(at(2026, 11, 20, 18, 0), "requisition", "received", green_channel=True).due == at(
        2026, 11, 23, 17, 30
    )
    assert clock.step_due(MONDAY, "requisition", "in_review").due == at(2026, 11, 30, 17, 30)
    assert clock.step_due(MONDAY, "homestead", "received").due == at(2026, 11, 24, 12, 0)
    assert clock.step_due(MONDAY, "homestead", "archived") is None
    with pytest.raises(ValueError):
        clock.read(MONDAY, "homestead", green_channel=True, now=MONDAY)


def test_statutory_announcement_periods(clock):
    assert clock.pre_announcement_end(at(2026, 11, 2, 10, 0)).due == at(2026, 11, 16, 17, 30)  # 10 working days
    assert clock.compensation_announcement_end(at(2026, 11, 2, 10, 0)).due == at(2026, 12, 2, 17, 30)  # 30 days
    # the 30th day is 1 October, a holiday: the period runs to the next working day
    assert clock.compensation_announcement_end(at(2026, 9, 1, 10, 0)).due == at(2026, 10, 8, 17, 30)


# ---- pauses and readings -------------------------------------------------------------------------------------------

PAUSE = (at(2026, 11, 24, 10, 0), at(2026, 11, 25, 15, 0))  # Tue morning, Tue afternoon, Wed morning off the clock


def test_a_pause_and_a_resume_extend_both_deadlines(clock):
    statutory, promised = clock.due_dates(MONDAY, "homestead", pauses=[PAUSE])
    assert promised.due == at(2026, 11, 30, 17, 30)
    assert statutory.due == at(2026, 12, 23, 12, 0)  # 1.5 working days after 21 December's close
    # the ORM's pause rows (paused_at / resumed_at) do as well as tuples
    assert clock.due_dates(MONDAY, "homestead", pauses=[PauseInterval(*PAUSE)]) == (statutory, promised)


def test_readings_count_down_to_overdue(clock):
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 11, 26, 10, 0))
    assert not r.paused and r.promised.used == Decimal("0.5") and r.promised.remaining == 3  # Wed afternoon used
    assert r.promised.status == "ok" and r.statutory.status == "ok" and r.statutory.remaining == Decimal("19.5")
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 11, 30, 13, 0))
    assert r.promised.used == 3 and r.promised.remaining == Decimal("0.5") and r.promised.status == "due_soon"
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 11, 30, 17, 30))  # the due time itself
    assert r.promised.remaining == 0 and r.promised.status == "due_soon"
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 11, 30, 17, 31))
    assert r.promised.status == "overdue" and r.promised.remaining == 0 and r.statutory.status == "ok"
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 12, 1, 17, 30))
    assert r.promised.status == "overdue" and r.promised.remaining == -1 and r.promised.used == Decimal("4.5")
    assert r.statutory.remaining == Decimal("15.5")


def test_an_open_pause_freezes_the_clock_and_moves_the_due_time(clock):
    open_pause = (at(2026, 11, 24, 10, 0), None)
    r = clock.read(MONDAY, "homestead", pauses=[open_pause], now=at(2026, 11, 26, 11, 0))
    assert r.paused and r.promised.used == 0 and r.promised.remaining == Decimal("3.5") and r.promised.status == "ok"
    assert r.promised.due == at(2026, 12, 1, 12, 0)  # the due time if resumed now
    r = clock.read(MONDAY, "homestead", pauses=[open_pause], now=at(2026, 11, 27, 16, 0))
    assert r.paused and r.promised.remaining == Decimal("3.5") and r.promised.due == at(2026, 12, 2, 17, 30)
    # resumed then: the due time stays where the open pause had moved it, and the clock runs again
    resumed = (at(2026, 11, 24, 10, 0), at(2026, 11, 27, 16, 0))
    r = clock.read(MONDAY, "homestead", pauses=[resumed], now=at(2026, 11, 30, 18, 0))
    assert not r.paused and r.promised.due == at(2026, 12, 2, 17, 30)
    assert r.promised.used == Decimal("1.5") and r.promised.remaining == 2 and r.promised.status == "ok"
    _, promised = clock.due_dates(MONDAY, "homestead", pauses=[open_pause], now=at(2026, 11, 27, 16, 0))
    assert promised.due == at(2026, 12, 2, 17, 30)


def test_a_reading_knows_only_the_pauses_begun_by_then(clock):
    spans, paused = pauses_as_of([PAUSE, (at(2026, 12, 1, 9, 0), None)], at(2026, 11, 25, 9, 0))
    assert paused and spans == [(PAUSE[0], at(2026, 11, 25, 9, 0))]
    with pytest.raises(ValueError, match="before it starts"):
        pauses_as_of([(PAUSE[1], PAUSE[0])], at(2026, 12, 1, 9, 0))
    # overdue before the pause began: still overdue while paused
    late = clock.read(MONDAY, "homestead", pauses=[(at(2026, 12, 1, 9, 0), None)], now=at(2026, 12, 3, 9, 0))
    assert late.paused and late.promised.status == "overdue" and late.promised.due == at(2026, 11, 27, 12, 0)


def test_as_dict_is_json_ready(clock):
    r = clock.read(MONDAY, "homestead", pauses=[PAUSE], now=at(2026, 11, 26, 10, 0))
    d = json.loads(json.dumps(r.as_dict()))
    assert d["promised"] == {
        "budget_working_days": 3.5,
        "due": "2026-11-30T17:30:00+08:00",
        "provisional": False,
        "reasons": [],
        "used_working_days": 0.5,
        "remaining_working_days": 3.0,
        "status": "ok",
    }
    assert d["paused"] is False and d["as_of"] == "2026-11-26T10:00:00+08:00"


# ---- unknown years -------------------------------------------------------------------------------------------------


def test_a_case_received_20_december_2026_is_provisional_until_2027_is_loaded():
    cal = WorkingCalendar()
    clock = DeadlineClock(cal)
    received = at(2026, 12, 20, 10, 0)  # a Sunday
    now = at(2027, 1, 14, 10, 0)
    before = clock.read(received, "requisition", now=now)
    assert before.promised.due == at(2027, 1, 15, 17, 30) and before.statutory.due == at(2027, 2, 19, 17, 30)
    for r in (before.promised, before.statutory):
        assert r.provisional and r.reasons == [REASON_2027]
    assert before.promised.used == 18 and before.promised.remaining == 2  # 1 January counted
    # the administrator loads the year's file; open cases are recomputed
    cal.load_year_file(FIXTURE_2027)
    after = clock.read(received, "requisition", now=now)
    assert after.promised.due == at(2027, 1, 18, 17, 30)  # the fixture's 1–3 January holiday
    assert after.statutory.due == at(2027, 2, 26, 17, 30)  # and its Spring Festival, with Sat 13 Feb worked
    for r in (after.promised, after.statutory):
        assert not r.provisional and r.reasons == []
    assert after.promised.used == 17 and after.promised.remaining == 3


def test_the_clock_reads_the_data_folder(tmp_path):
    (tmp_path / "2027.toml").write_bytes(FIXTURE_2027.read_bytes())
    clock = DeadlineClock(WorkingCalendar(extra_dirs=[tmp_path]))
    _, promised = clock.due_dates(at(2026, 12, 20, 10, 0), "requisition")
    assert promised.due == at(2027, 1, 18, 17, 30) and not promised.provisional
    assert DeadlineClock().calendar.hours == default_rules().office_hours
    assert unknown_year_reason(2028) in DeadlineClock().due_dates(at(2027, 12, 1, 9, 0), "requisition")[0].reasons


# ---- properties ----------------------------------------------------------------------------------------------------

CLOCK = DeadlineClock(WorkingCalendar())
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 30)).map(
    lambda t: t.replace(tzinfo=LOCAL_TZ)
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120))


@settings(max_examples=120, deadline=None)
@given(
    received=moments,
    kind=st.sampled_from(["homestead", "requisition", "mining"]),
    green=st.booleans(),
    pause=st.one_of(st.none(), st.tuples(offsets, st.one_of(st.none(), offsets))),
    later=offsets,
)
def test_a_reading_adds_up(received, kind, green, pause, later):
    green = green and kind == "requisition"
    pauses = []
    if pause is not None:
        start = received + pause[0]
        pauses.append((start, None if pause[1] is None else start + pause[1]))
    now = received + later
    r = CLOCK.read(received, kind, green_channel=green, pauses=pauses, now=now)
    spans, paused = pauses_as_of(pauses, now)
    assert r.paused == paused
    for reading in (r.statutory, r.promised):
        assert reading.used + reading.remaining == reading.budget
        assert reading.due == CLOCK.calendar.add_working_days(received, reading.budget, spans).due
        assert reading.used == CLOCK.calendar.working_days_between(received, now, spans)
        assert CLOCK.calendar.is_working_day(reading.due.date())
        assert (reading.status == "overdue") == (now > reading.due)
        if reading.status == "ok":
            assert reading.remaining > 1
        if reading.status == "overdue":
            assert reading.remaining <= 0
    assert r.promised.due <= r.statutory.due
