"""Conversions of farmland for planners: the list with its filters and totals, and the audit against today's map."""

from __future__ import annotations

import csv
import io
from datetime import date

import pyogrio
import pytest

from service.core.errors import InvalidInput
from service.reports.conversions import ConversionFilter, audit_conversions, list_conversions
from tests import test_statistics
from tests.support.api import Api
from tests.support.onemap import b, lonlat
from tests.test_statistics import Window, t

window = test_statistics.window  # the hand-built window: staff acting through the service under a controlled clock


def approve_requisition(w: Window, case, day: int) -> None:
    w.move(case, "accept", t(1, 6))
    w.move(case, "end_pre_announcement", t(1, 21))
    w.review(case, t(1, 22))
    w.move(case, "end_compensation_announcement", t(2, 25))
    w.move(case, "submit_higher", t(2, 26), who="leader")
    w.move(case, "approve", t(3, day, 10), who="leader")


def build(w: Window) -> dict[str, object]:
    """A: 5 000 m² of 旱地 approved 12 March (向阳镇); B: a 100 m² homestead on 旱地 approved 6 March (桂花镇);
    C: 5 000 m² of 旱地 pending since 9 March (桂花镇); D: a homestead on village land (no 农用地); E: refused."""
    c: dict[str, object] = {}
    a = c["A"] = w.intake(
        t(1, 5),
        "clerk",
        "requisition",
        b(100, 0, 150, 100),
        applicant_name="咸安区人民政府",
        applicant_type="unit",
        township="向阳镇",
        phone="07155555555",
    )
    approve_requisition(w, a, 12)
    h = c["B"] = w.intake(
        t(3, 2),
        "clerk",
        "homestead",
        b(160, 50, 170, 60),
        applicant_name="张二",
        household_id="HH22",
        township="桂花镇",
        phone="13800000002",
    )
    w.move(h, "accept", t(3, 3))
    w.review(h, t(3, 4))
    w.move(h, "approve", t(3, 6, 10), who="leader")
    pending = c["C"] = w.intake(
        t(3, 9),
        "clerk",
        "requisition",
        b(150, 0, 200, 100),
        applicant_name="咸安经开区",
        applicant_type="unit",
        township="桂花镇",
        phone="07155555556",
    )
    w.move(pending, "accept", t(3, 10))
    d = c["D"] = w.intake(
        t(3, 2),
        "clerk",
        "homestead",
        b(40, 240, 52, 252),
        applicant_name="张一",
        household_id="HH21",
        township="向阳镇",
        phone="13800000001",
    )
    w.move(d, "accept", t(3, 3))
    e = c["E"] = w.intake(
        t(3, 11),
        "clerk",
        "requisition",
        b(120, 0, 140, 50),
        applicant_name="某公司",
        applicant_type="unit",
        township="向阳镇",
        phone="07155555557",
    )
    w.move(e, "refuse", t(3, 12), reason="不符合供地政策")
    return c


def nos(listing) -> list[str]:
    return [r.case_no for r in listing.rows]


def test_the_list_holds_approved_and_pending_conversions_with_their_totals(window):
    c = build(window)
    a, h, pending = (c[k].case_no for k in ("A", "B", "C"))
    listing = list_conversions(window.s)
    # newest first by the date that counts: approval, or intake while pending
    assert nos(listing) == [a, pending, h]
    by_no = {r.case_no: r for r in listing.rows}
    assert (by_no[a].state, by_no[pending].state, by_no[h].state) == ("approved", "pending", "approved")
    assert by_no[a].agricultural_m2 == pytest.approx(5000.0, abs=0.01)
    assert by_no[a].cultivated_m2 == pytest.approx(5000.0, abs=0.01)
    assert by_no[h].cultivated_m2 == pytest.approx(100.0, abs=0.01)
    assert by_no[h].applicant == "张*"  # masked in the planner's list
    assert by_no[a].applicant == "咸安区人民政府"
    assert by_no[a].layer_versions["basic_farmland"] == 1
    totals = listing.totals()
    assert totals["approved"]["cases"] == 2
    assert totals["approved"]["agricultural_m2"] == pytest.approx(5100.0, abs=0.01)
    assert totals["approved"]["cultivated_mu"] == pytest.approx(7.65, abs=0.005)
    assert totals["pending"]["cultivated_m2"] == pytest.approx(5000.0, abs=0.01)
    assert totals["all"]["agricultural_m2"] == pytest.approx(10100.0, abs=0.01)


def test_filters_by_township_period_land_class_and_state(window):
    c = build(window)
    a, h, pending = (c[k].case_no for k in ("A", "B", "C"))
    lc = lambda **kw: nos(list_conversions(window.s, ConversionFilter.parse(**kw)))  # noqa: E731
    assert lc(township="桂花镇") == [pending, h]
    assert lc(township="向阳镇") == [a]
    assert lc(date_from="2026-03-07", date_to="2026-03-31") == [a, pending]
    assert lc(date_to="2026-03-06") == [h]  # the whole last day counts
    assert lc(state="approved") == [a, h]
    assert lc(land_class="0103") == [a, pending, h]
    assert lc(land_class="01") == [a, pending, h]
    assert lc(land_class="03") == []
    assert lc(land_class="农用地", township="桂花镇", state="pending") == [pending]
    only = list_conversions(window.s, ConversionFilter.parse(land_class="0103", township="桂花镇"))
    assert only.totals()["all"]["class_m2"] == pytest.approx(5100.0, abs=0.01)
    assert ConversionFilter.parse(date_from="2026-03-07").date_from == date(2026, 3, 7)
    with pytest.raises(InvalidInput, match="from must be a date"):
        ConversionFilter.parse(date_from="7 March")
    with pytest.raises(InvalidInput, match="land_class must be"):
        ConversionFilter.parse(land_class="耕地x")
    with pytest.raises(InvalidInput, match="is after to"):
        ConversionFilter.parse(date_from="2026-03-31", date_to="2026-03-01")


def test_the_audit_lists_approved_conversions_that_todays_map_disagrees_with(window, load_layer):
    c = build(window)
    a, h = c["A"].case_no, c["B"].case_no
    stored = {r.case_no: (r.check_id, r.verdict) for r in list_conversions(window.s).rows}
    first = audit_conversions(window.s)
    assert [r.conversion.case_no for r in first.rows] == [a, h]  # approved only
    assert first.disagreements == []
    window.s.rollback()  # the audit's read locks end with its transaction, as they do after a request
    # basic farmland designated since: a new patch over x 120–200 covers 3 000 m² of A and all of B
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF2"}], [b(0, 0, 100, 100), b(120, 0, 200, 100)])
    audit = audit_conversions(window.s)
    rows = {r.conversion.case_no: r for r in audit.rows}
    assert [r.conversion.case_no for r in audit.disagreements] == [a, h]
    ra = rows[a]
    # a requisition may take basic farmland only with State Council approval: a warning (rules.toml)
    assert (ra.stored_verdict, ra.today_verdict) == ("pass", "warn")
    assert [(ch.rule, ch.stored_status, ch.today_status, ch.stored_m2, ch.today_m2) for ch in ra.changes] == [
        ("RQ-BF", "pass", "warn", 0.0, pytest.approx(3000.0, abs=0.01))
    ]
    assert ra.changed_layers == ["basic_farmland"]
    assert ra.conversion.layer_versions["basic_farmland"] == 1 and ra.today_versions["basic_farmland"] == 2
    assert [(ch.rule, ch.today_m2) for ch in rows[h].changes] == [("HS-BF", pytest.approx(100.0, abs=0.01))]
    # the audit reads; it stores nothing: the approved cases keep the check they were decided on
    again = list_conversions(window.s, ConversionFilter(state="approved"))
    assert {r.case_no: (r.check_id, r.verdict) for r in again.rows} == {a: stored[a], h: stored[h]}

    text = audit.csv_text()
    rows_csv = list(csv.reader(io.StringIO(text)))
    assert rows_csv[0][0] == "案件编号 case_no"
    line = next(r for r in rows_csv if r[0] == a)
    assert line[5:7] == ["pass", "warn"] and line[12] == "basic_farmland" and line[13] == "是 yes"
    assert "RQ-BF pass→warn 0.00→3000.00㎡" in line[14]


def test_the_audit_exports_as_geopackage(window, load_layer, tmp_path):
    c = build(window)
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF2"}], [b(0, 0, 100, 100), b(120, 0, 200, 100)])
    data = audit_conversions(window.s).gpkg_bytes()
    path = tmp_path / "audit.gpkg"
    path.write_bytes(data)
    frame = pyogrio.read_dataframe(path)
    assert list(frame["case_no"]) == [c["A"].case_no, c["B"].case_no]
    assert list(frame["today_verdict"]) == ["warn", "block"]
    assert bool(frame["disagrees"].iloc[0]) is True
    assert frame.crs.to_epsg() == 4490
    # the boundary comes back where it was taken in (area in the GK zone to the square metre)
    gk = frame.to_crs(4526)
    assert gk.geometry.iloc[0].area == pytest.approx(5000.0, abs=1.0)
    assert gk.geometry.iloc[0].symmetric_difference(b(100, 0, 150, 100)).area < 0.01
    assert lonlat(b(100, 0, 150, 100)).intersects(frame.geometry.iloc[0])


def test_the_api_serves_planners_and_refuses_clerks(window, api, load_layer):
    c = build(window)
    window.s.commit()
    api_checks(api, c, load_layer)


def api_checks(api: Api, c: dict, load_layer) -> None:
    r = api.get("/api/v1/conversions", as_="planner", params={"township": "桂花镇"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["case_no"] for x in body["conversions"]] == [c["C"].case_no, c["B"].case_no]
    assert body["totals"]["all"]["cultivated_m2"] == pytest.approx(5100.0, abs=0.01)
    assert body["filter"] == {"township": "桂花镇"}
    r = api.get("/api/v1/conversions", as_="clerk")
    assert r.status_code == 403
    assert "only planners, leaders and administrators" in r.json()["detail"]
    r = api.get("/api/v1/conversions", as_="planner", params={"from": "March"})
    assert r.status_code == 422 or r.status_code == 400
    assert "from must be a date" in r.text
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF2"}], [b(0, 0, 100, 100), b(120, 0, 200, 100)])
    r = api.get("/api/v1/conversions/audit", as_="leader")
    assert r.status_code == 200 and r.json()["disagreements"] == 2
    r = api.get("/api/v1/conversions/audit.csv", as_="planner")
    assert r.status_code == 200 and r.content.startswith("\ufeff案件编号".encode())
    assert r.headers["content-disposition"] == 'attachment; filename="conversion-audit.csv"'
    r = api.get("/api/v1/conversions/audit.gpkg", as_="admin")
    assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"
    assert api.get("/api/v1/conversions/audit.gpkg", as_="clerk").status_code == 403
