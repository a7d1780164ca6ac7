"""Monthly statistics on a hand-built March 2026, made through the real case service with a controlled clock."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from shapely.geometry import Polygon
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.access.auth import Principal, hash_secret
from service.cases import records
from service.cases.applicants import rate
from service.cases.intake import create_case
from service.cases.review import complete_task
from service.cases.transitions import transition
from service.cli.app import app as cli
from service.clocks.calendar import LOCAL_TZ
from service.core.db import make_engine
from service.core.errors import InvalidInput
from service.core.models import AuditEntry, User
from service.reports.statistics import COLUMNS, Month, monthly_statistics
from tests.support.onemap import X0, Y0, b, load_one_map

HOMESTEAD = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]
REQUISITION = [
    "project_approval",
    "planning_permit",
    "survey_report",
    "boundary_txt",
    "compensation_plan",
    "risk_assessment",
]
MARCH = Month(2026, 3)


def t(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


class Clock:
    """The time the case service and the audit log see."""

    def __init__(self) -> None:
        self.now = t(1, 1)

    def __call__(self) -> datetime:
        return self.now


class Window:
    """Staff acting through the real service functions at controlled times."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.s = session
        self.clock = clock
        self.staff = {
            u.username: Principal(u.id, u.username, u.role, u.department) for u in session.scalars(select(User))
        }
        self.codes: dict[int, str] = {}

    def at(self, when: datetime) -> Window:
        self.clock.now = when
        return self

    def intake(self, when: datetime, clerk: str, kind: str, geom=None, **kw):
        from shapely.geometry import MultiPolygon

        from service.cases.boundaries import BoundaryInput
        from service.cases.intake import Intake
        from tests.support.onemap import lonlat

        self.at(when)
        materials = {"homestead": HOMESTEAD, "requisition": REQUISITION, "mining": []}[kind]
        boundary = BoundaryInput(MultiPolygon([lonlat(geom)]), {"format": "test"}) if geom is not None else None
        result = create_case(self.s, self.staff[clerk], Intake(kind=kind, materials_received=materials, **kw), boundary)
        self.s.commit()
        self.codes[result.case.id] = result.query_code or ""
        return result.case

    def move(self, case, name: str, when: datetime, who: str = "clerk", reason: str | None = None):
        self.at(when)
        transition(self.s, self.staff[who], case.id, name, case.version, reason, at=when)
        self.s.commit()
        return case

    def review(self, case, when: datetime):
        self.at(when)
        by_dept = {p.department: p for p in self.staff.values() if p.department}
        for task in list(case.tasks):
            complete_task(self.s, by_dept[task.department], case.id, task.id, case.version, "agree", "同意")
        self.s.commit()
        return case

    def rate(self, case, stars: int):
        rate(self.s, case.case_no, self.codes[case.id], stars, None)
        self.s.commit()


@pytest.fixture
def window(db_url, conn, staff, load_layer, monkeypatch):
    load_one_map(load_layer)
    # the border runs along x = 125 m with vertices where the requisition's edges cross it (edges stay straight)
    west = [(-1000, -1000), (125, -1000), (125, 0), (125, 100), (125, 1000), (-1000, 1000)]
    east = [(125, -1000), (1000, -1000), (1000, 1000), (125, 1000), (125, 100), (125, 0)]
    load_layer(
        "townships",
        [{"name": "向阳镇", "code": "421202100"}, {"name": "桂花镇", "code": "421202101"}],
        [Polygon([(X0 + x, Y0 + y) for x, y in ring]) for ring in (west, east)],
    )
    conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash) VALUES ('clerk2', '窗口受理员 李明', 'clerk', %s)",
        (hash_secret("clerk2-demo-2026"),),
    )
    conn.commit()
    clock = Clock()
    monkeypatch.setattr(records, "now", clock)

    def stamp(mapper, connection, entry):  # the audit log's time is the service's time
        entry.at = clock.now

    event.listen(AuditEntry, "before_insert", stamp)
    engine = make_engine(db_url, pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield Window(session, clock)
    finally:
        event.remove(AuditEntry, "before_insert", stamp)
        engine.dispose()


def build_march(w: Window) -> dict[str, object]:
    """The hand-built month: two clerks, nine cases, around March 2026 (no holidays in March; 2026-02-28 is a workday)."""
    c: dict[str, object] = {}
    # decided before March: not in March at all
    h5 = c["H5"] = w.intake(t(2, 10), "clerk", "homestead", applicant_name="赵五", phone="13900000005")
    w.move(h5, "refuse", t(2, 12), reason="材料虚假")
    # requisition taken in by clerk2 in January, approved by the province in March: carried over, decided, converts land
    r2 = c["R2"] = w.intake(
        t(1, 5),
        "clerk2",
        "requisition",
        b(100, 0, 150, 100),
        applicant_name="咸安区人民政府",
        applicant_type="unit",
        project_name="标准厂房",
        phone="07155555555",
    )
    w.move(r2, "accept", t(1, 6))
    w.move(r2, "end_pre_announcement", t(1, 21))
    w.review(r2, t(1, 22))
    w.move(r2, "end_compensation_announcement", t(2, 25))
    w.move(r2, "submit_higher", t(2, 26), who="leader")
    w.move(r2, "approve", t(3, 12, 10), who="leader")
    w.rate(r2, 4)
    # homestead taken in on 26 February, accepted and approved in March: carried over, late on the promise (3.5 days)
    h1 = c["H1"] = w.intake(
        t(2, 26, 10),
        "clerk",
        "homestead",
        b(40, 240, 52, 252),
        applicant_name="张一",
        household_id="HH21",
        phone="13800000001",
    )
    w.move(h1, "accept", t(3, 2))
    w.review(h1, t(3, 3))
    w.move(h1, "approve", t(3, 4, 10), who="leader")
    w.rate(h1, 5)
    # homestead on dry land (耕地) in 桂花镇, returned for supplements and approved in March
    h2 = c["H2"] = w.intake(
        t(3, 2),
        "clerk",
        "homestead",
        b(160, 50, 170, 60),
        applicant_name="张二",
        household_id="HH22",
        phone="13800000002",
    )
    w.move(h2, "request_supplement", t(3, 3, 10))
    w.move(h2, "supplement_received", t(3, 5, 9))
    w.move(h2, "accept", t(3, 5, 10))
    w.review(h2, t(3, 5, 15))
    w.move(h2, "approve", t(3, 6, 10), who="leader")
    w.rate(h2, 2)
    # clerk2's homestead refused the next day
    h3 = c["H3"] = w.intake(t(3, 10), "clerk2", "homestead", applicant_name="李三", phone="13800000003")
    w.move(h3, "refuse", t(3, 11), who="clerk2", reason="不符合申请条件")
    # clerk2's homestead still waiting for supplements at the month's end
    h4 = c["H4"] = w.intake(t(3, 20), "clerk2", "homestead", applicant_name="李四", phone="13800000004")
    w.move(h4, "request_supplement", t(3, 23), who="clerk2")
    # clerk's green-channel requisition in its pre-announcement at the month's end
    r1 = c["R1"] = w.intake(
        t(3, 9),
        "clerk",
        "requisition",
        b(150, 0, 200, 100),
        applicant_name="咸安经开区",
        applicant_type="unit",
        green_channel=True,
        phone="07155555556",
    )
    w.move(r1, "accept", t(3, 10))
    # a mining application taken in late in March
    c["M1"] = w.intake(t(3, 25), "clerk", "mining", applicant_name="丙矿业", applicant_type="unit", phone="07155555557")
    # clerk2's homestead taken in on 30 March and refused in April: in progress at March's end
    h6 = c["H6"] = w.intake(t(3, 30), "clerk2", "homestead", applicant_name="李六", phone="13800000006")
    w.move(h6, "refuse", t(4, 1), who="clerk2", reason="重复申请")
    return c


def row(f) -> dict[str, object]:
    return {k: getattr(f, k) for k, _, _ in COLUMNS}


ZERO = {k: 0 for k, _, _ in COLUMNS} | {"avg_working_days": None, "rating_avg": None}

# Working days from receipt to decision (the receipt day does not count; half days do):
#   R2 5 Jan 09:00 → 12 Mar 10:00: January 6–30 = 19, February 2–14, 24–28 = 16 (14 and 28 Feb are workdays,
#      15–23 Feb the Spring Festival), March 2–11 = 8, 12 March's morning unfinished → 43: within the 45 statutory
#      days (due 13 Mar), beyond the 20 promised
#   H1 26 Feb 10:00 → 4 Mar 10:00: 27, 28 Feb, 2, 3 Mar = 4; promised due 3 Mar 12:00 → late; statutory on time
#   H2 2 Mar 09:00 → 6 Mar 10:00 with 3 Mar 10:00–5 Mar 09:00 paused: 3 Mar's morning ends paused; 5 Mar's morning
#      and afternoon = 1 (promised due 10 Mar 12:00: on time)
#   H3 10 Mar → 11 Mar 09:00: 0
HOMESTEAD_ROW = {
    **ZERO,
    "carried_over": 1,
    "received": 4,
    "accepted": 2,
    "returned": 2,
    "decided": 3,
    "approved": 2,
    "rejected": 1,
    "in_progress": 2,
    "statutory_on_time": 3,
    "statutory_overdue": 0,
    "promised_on_time": 2,
    "promised_overdue": 1,
    "avg_working_days": 1.67,
    "rating_avg": 3.5,
    "rating_count": 2,
}
REQUISITION_ROW = {
    **ZERO,
    "carried_over": 1,
    "received": 1,
    "accepted": 1,
    "decided": 1,
    "approved": 1,
    "in_progress": 1,
    "statutory_on_time": 1,
    "promised_overdue": 1,
    "avg_working_days": 43.0,
    "green_channel": 1,
    "rating_avg": 4.0,
    "rating_count": 1,
}
MINING_ROW = {**ZERO, "received": 1, "in_progress": 1}
CLERK_ROW = {
    **ZERO,
    "carried_over": 1,
    "received": 3,
    "accepted": 3,
    "returned": 1,
    "decided": 2,
    "approved": 2,
    "in_progress": 2,
    "statutory_on_time": 2,
    "promised_on_time": 1,
    "promised_overdue": 1,
    "avg_working_days": 2.5,
    "green_channel": 1,
    "rating_avg": 3.5,
    "rating_count": 2,
}
CLERK2_ROW = {
    **ZERO,
    "carried_over": 1,
    "received": 3,
    "returned": 1,
    "decided": 2,
    "approved": 1,
    "rejected": 1,
    "in_progress": 2,
    "statutory_on_time": 2,
    "promised_on_time": 1,
    "promised_overdue": 1,
    "avg_working_days": 21.5,
    "rating_avg": 4.0,
    "rating_count": 1,
}
TOTAL_ROW = {
    **ZERO,
    "carried_over": 2,
    "received": 6,
    "accepted": 3,
    "returned": 2,
    "decided": 4,
    "approved": 3,
    "rejected": 1,
    "in_progress": 4,
    "statutory_on_time": 4,
    "promised_on_time": 2,
    "promised_overdue": 2,
    "avg_working_days": 12.0,
    "green_channel": 1,
    "rating_avg": 3.67,
    "rating_count": 3,
}
# R2 (5 000 m² of 旱地) lies half in each township; H2 (100 m² of 旱地) in 桂花镇; H1 lies on village land (no 农用地)
CONVERSIONS = [("向阳镇", 1, 2500.0, 2500.0), ("桂花镇", 2, 2600.0, 2600.0)]


def test_the_figures_of_a_hand_built_month(window):
    build_march(window)
    stats = monthly_statistics(window.s, MARCH)
    assert [f.key for f in stats.by_kind] == ["homestead", "requisition", "mining"]
    assert row(stats.by_kind[0]) == HOMESTEAD_ROW
    assert row(stats.by_kind[1]) == REQUISITION_ROW
    assert row(stats.by_kind[2]) == MINING_ROW
    assert [(f.key, f.label) for f in stats.by_clerk] == [("clerk", "窗口受理员 王芳"), ("clerk2", "窗口受理员 李明")]
    assert row(stats.by_clerk[0]) == CLERK_ROW
    assert row(stats.by_clerk[1]) == CLERK2_ROW
    assert row(stats.total) == TOTAL_ROW
    for f in stats.rows:  # what is carried in and taken in is decided or still open
        assert f.carried_over + f.received == f.decided + f.in_progress
    got = [(c.township, c.cases, c.agricultural_m2, c.cultivated_m2) for c in stats.conversions]
    assert [g[:2] for g in got] == [c[:2] for c in CONVERSIONS]
    for g, want in zip(got, CONVERSIONS, strict=True):
        assert g[2:] == pytest.approx(want[2:], abs=0.01)
    assert stats.conversions[0].agricultural_mu == pytest.approx(3.75, abs=0.0001)

    # the months around: February has H5 decided and the January case still open; April sees H6 decided
    feb = monthly_statistics(window.s, Month(2026, 2))
    assert (feb.total.carried_over, feb.total.received, feb.total.decided, feb.total.in_progress) == (1, 2, 1, 2)
    april = monthly_statistics(window.s, Month(2026, 4))
    assert (april.total.carried_over, april.total.received, april.total.decided, april.total.rejected) == (4, 0, 1, 1)
    assert april.conversions == []


def test_csv_and_xlsx_carry_the_same_figures(window):
    build_march(window)
    stats = monthly_statistics(window.s, MARCH)
    text = stats.csv_text()
    table, conversions = text.split("\r\n\r\n")
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0] == ["月度统计 Monthly statistics 2026-03"]
    header, body = rows[1], rows[2:]
    assert header[:3] == ["分组 Group", "名称 Name", "上月结转 Carried over"]
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_name) == {
        "村民建房（农村宅基地） Villager housing (rural homestead)",
        "土地征收 / 农用地转用 Land requisition / farmland conversion",
        "采矿权审批 Mining right",
        "窗口受理员 王芳",
        "窗口受理员 李明",
        "合计 Total",
    }
    total = by_name["合计 Total"]
    for key, zh, en in COLUMNS:
        want = TOTAL_ROW[key]
        assert total[f"{zh} {en}"] == ("" if want is None else str(want)), key
    assert by_name["窗口受理员 李明"]["平均用时（工作日） Average working days"] == "21.5"
    conv = list(csv.reader(io.StringIO(conversions)))
    assert conv[1][:2] == ["乡镇 Township", "批准件数 Cases approved"]
    assert [(r[0], r[1], round(float(r[2]))) for r in conv[2:] if r] == [("向阳镇", "1", 2500), ("桂花镇", "2", 2600)]

    wb = load_workbook(io.BytesIO(stats.xlsx_bytes()))
    assert wb.sheetnames == ["办件统计 Cases", "转用面积 Conversions"]
    cells = [list(r) for r in wb["办件统计 Cases"].iter_rows(min_row=2, values_only=True)]
    head = cells[0]
    sheet = {r[1]: dict(zip(head, r, strict=True)) for r in cells[1:]}
    for key, zh, en in COLUMNS:
        assert sheet["合计 Total"][f"{zh} {en}"] == TOTAL_ROW[key], key
        assert sheet["窗口受理员 王芳"][f"{zh} {en}"] == CLERK_ROW[key], key
    conv_rows = list(wb["转用面积 Conversions"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[1]) for r in conv_rows] == [("向阳镇", 1), ("桂花镇", 2)]
    assert conv_rows[1][4] == pytest.approx(2600.0, abs=0.05)


def test_the_report_command(window, cli_db, tmp_path):
    build_march(window)
    runner = CliRunner()
    r = runner.invoke(cli, ["report", "monthly", "--month", "2026-03"])
    assert r.exit_code == 0, r.output
    assert "窗口受理员 李明" in r.output and "向阳镇" in r.output
    out = tmp_path / "march.xlsx"
    r = runner.invoke(cli, ["report", "monthly", "--month", "2026-03", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    sheet = load_workbook(out)["办件统计 Cases"]
    assert [c.value for c in sheet[sheet.max_row]][:4] == ["合计 Total", "合计 Total", 2, 6]
    r = runner.invoke(cli, ["report", "monthly", "--month", "2026-03", "--format", "csv"])
    assert r.exit_code == 0 and r.output.splitlines()[0] == "月度统计 Monthly statistics 2026-03"
    r = runner.invoke(cli, ["report", "monthly", "--month", "2026-13"])
    assert r.exit_code == 2 and "YYYY-MM" in r.output


def test_month_parsing_and_bounds():
    assert str(Month.parse("2026-11")) == "2026-11"
    assert Month(2026, 12).end == datetime(2027, 1, 1, tzinfo=LOCAL_TZ)
    assert Month(2026, 1).previous() == Month(2025, 12)
    for bad in ("2026-13", "2026/11", "26-11", "2026-1"):
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            Month.parse(bad)
