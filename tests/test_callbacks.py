"""Satisfaction callbacks: a reproducible seeded sample of March's decided cases, and the recorded outcomes."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from service.core.models import AuditEntry, Case
from service.reports import callbacks
from tests.test_statistics import MARCH, build_march, t, window  # noqa: F401

AFTER_MARCH = t(4, 2)


def numbers(session, ids):
    by_id = {r.id: r.case_no for r in session.execute(select(Case.id, Case.case_no))}
    return [by_id[i] for i in ids]


def test_the_same_month_and_seed_draw_the_same_cases(window):  # noqa: F811
    c = build_march(window)
    # decided in March without a phone: never drawn (nobody to call)
    silent = window.intake(t(3, 17), "clerk", "homestead", applicant_name="无电话")
    window.move(silent, "refuse", t(3, 18), reason="不符合条件")
    s = window.s
    pool = callbacks.population(s, MARCH)
    assert pool == sorted(case.id for name, case in c.items() if name in ("R2", "H1", "H2", "H3"))
    # the draw is random.Random(seed).sample over the population ordered by id: reproducible anywhere
    assert callbacks.sample_ids(list(reversed(pool)), 3, 42) == random.Random(42).sample(pool, 3)
    expected = {seed: callbacks.sample_ids(pool, 3, seed) for seed in (42, 7, 2026)}
    assert len({tuple(v) for v in expected.values()}) > 1  # the seed matters
    assert numbers(s, expected[42]) == numbers(s, callbacks.sample_ids(pool, 3, 42))

    leader = window.staff["leader"]
    drawn, new = callbacks.draw(s, MARCH, size=3, seed=42, by=leader, at=AFTER_MARCH)
    s.commit()
    assert new and (drawn.month, drawn.seed, drawn.size, drawn.population) == ("2026-03", 42, 3, 4)
    assert [e.case_id for e in drawn.entries] == expected[42]
    assert [e.position for e in drawn.entries] == [1, 2, 3]
    again, new = callbacks.draw(s, MARCH, size=3, seed=42, by=leader, at=AFTER_MARCH)
    assert not new and again.id == drawn.id
    assert callbacks.draw(s, MARCH, by=leader, at=AFTER_MARCH)[0].id == drawn.id  # no seed given: the month's draw
    with pytest.raises(Conflict, match="seed 42, size 3"):
        callbacks.draw(s, MARCH, size=3, seed=7, by=leader, at=AFTER_MARCH)
    entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "callback.draw"))
    assert entry.actor == "leader:leader" and entry.after["cases"] == numbers(s, expected[42])
    assert "phone" not in str(entry.after)

    # a larger sample than the population takes everyone, in the seeded order
    april = callbacks.draw(s, MARCH.next(), size=10, seed=1, by=leader, at=t(5, 1))[0]
    assert [e.case_id for e in april.entries] == callbacks.sample_ids(callbacks.population(s, MARCH.next()), 10, 1)
    assert len(april.entries) == 1 and april.entries[0].case_id == c["H6"].id


def test_who_and_when(window):  # noqa: F811
    build_march(window)
    s = window.s
    with pytest.raises(PermissionDenied, match="only leaders and administrators"):
        callbacks.draw(s, MARCH, seed=1, by=window.staff["clerk"], at=AFTER_MARCH)
    with pytest.raises(InvalidInput, match="has not ended"):
        callbacks.draw(s, MARCH, seed=1, by=window.staff["leader"], at=t(3, 31, 23, 59))
    with pytest.raises(InvalidInput, match="1–500"):
        callbacks.draw(s, MARCH, size=0, by=window.staff["admin"], at=AFTER_MARCH)
    drawn, _ = callbacks.draw(s, MARCH, seed=5, by=window.staff["admin"], at=AFTER_MARCH)
    assert drawn.seed == 5 and drawn.size == callbacks.default_size() == 10 and len(drawn.entries) == 4


def test_recording_outcomes(window):  # noqa: F811
    c = build_march(window)
    s = window.s
    leader = window.staff["leader"]
    drawn, _ = callbacks.draw(s, MARCH, size=4, seed=3, by=leader, at=AFTER_MARCH)
    h1 = c["H1"].case_no
    callbacks.record(s, h1, "unreachable", "13800000001 无人接听", by=leader, at=t(4, 3, 10))
    entry = callbacks.record(s, h1, "satisfied", "再次拨打13800000001，对办理速度满意", by=leader, at=t(4, 3, 15))
    s.commit()
    assert (entry.outcome, entry.note, entry.called_by) == (
        "satisfied",
        "再次拨打13800000001，对办理速度满意",
        leader.user_id,
    )
    trail = s.scalars(select(AuditEntry).where(AuditEntry.action == "callback.record").order_by(AuditEntry.id)).all()
    assert [(a.before["outcome"], a.after["outcome"]) for a in trail] == [
        (None, "unreachable"),
        ("unreachable", "satisfied"),
    ]
    assert trail[1].after["note"] == "再次拨打138****0001，对办理速度满意"  # the log carries no full phone
    with pytest.raises(InvalidInput, match="satisfied, basically_satisfied, dissatisfied, unreachable, declined"):
        callbacks.record(s, h1, "happy", by=leader)
    with pytest.raises(NotFound, match=c["R1"].case_no):
        callbacks.record(s, c["R1"].case_no, "satisfied", by=leader)
    with pytest.raises(PermissionDenied):
        callbacks.record(s, h1, "dissatisfied", by=window.staff["clerk"])

    view = callbacks.draw_view(callbacks.get_draw(s, MARCH), MARCH)
    assert view["summary"] == {
        "satisfied": 1,
        "basically_satisfied": 0,
        "dissatisfied": 0,
        "unreachable": 0,
        "declined": 0,
        "pending": 3,
    }
    row = next(e for e in view["entries"] if e["case_no"] == h1)
    assert (row["phone"], row["applicant_name"], row["outcome_zh"]) == ("138****0001", "张*", "满意")
    full = callbacks.draw_view(callbacks.get_draw(s, MARCH), MARCH, full_phones=True)
    assert next(e for e in full["entries"] if e["case_no"] == h1)["phone"] == "13800000001"


def test_the_callback_commands(window, cli_db):  # noqa: F811
    c = build_march(window)
    runner = CliRunner()
    r = runner.invoke(cli, ["callback", "draw", "--month", "2026-03", "--size", "4", "--seed", "11"])
    assert r.exit_code == 0, r.output
    assert "seed 11" in r.output and "4 / 4" in r.output and "138****0001" in r.output and "13800000001" not in r.output
    r = runner.invoke(cli, ["callback", "draw", "--month", "2026-03", "--seed", "12"])
    assert r.exit_code == 2 and "seed 11" in r.output
    r = runner.invoke(
        cli, ["callback", "record", c["H2"].case_no, "--outcome", "basically_satisfied", "--note", "等待时间略长"]
    )
    assert r.exit_code == 0 and "basically_satisfied" in r.output
    window.s.expire_all()
    entry = next(e for e in callbacks.get_draw(window.s, MARCH).entries if e.case_id == c["H2"].id)
    assert (entry.outcome, entry.note, entry.called_by) == ("basically_satisfied", "等待时间略长", None)
    r = runner.invoke(cli, ["callback", "record", c["H2"].case_no, "--outcome", "great"])
    assert r.exit_code == 2 and "unknown outcome" in r.output
