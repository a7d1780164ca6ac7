"""Lodged and approved cases are layers of the one map: double allocation, 一户一宅 over the applications, 重复报批,
first come first served, rechecks that follow decisions — against PostGIS with the hand-made map's exact areas."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

from tests.support.cases import Window
from tests.support.onemap import b, lonlat
from tests.test_app import _tile_of as tile_of


@pytest.fixture
def w(api, conn, one_map) -> Window:
    return Window(api, conn)


def versions(conn) -> dict[str, tuple[int, int]]:
    rows = conn.execute(
        "SELECT layer, version, feature_count FROM layer_versions WHERE layer IN ('cases_pending', 'cases_approved')"
    ).fetchall()
    return {layer: (v, n) for layer, v, n in rows}


def test_a_second_household_on_an_approved_and_certified_plot_is_blocked(w: Window, conn):
    first = w.approve(w.intake("homestead", b(40, 240, 52, 252), household_id="HH2"))
    first = w.move(first, "issue_certificate")
    assert first["status"] == "certified"
    second = w.intake("homestead", b(46, 244, 58, 256), applicant="李四", household_id="HH3")
    assert second["check"]["verdict"] == "block"
    appr = w.rule(second, "HS-APPR")
    assert appr["status"] == "block"
    assert [f["attrs"]["case_no"] for f in appr["features"]] == [first["case_no"]]
    assert appr["overlap_m2"] == pytest.approx(48.0, abs=0.01)  # 6 m × 8 m of the certified plot
    assert f"{first['case_no']}" in appr["message"] and "48.00 平方米" in appr["message"]
    assert appr["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # it cannot be accepted: the land is taken
    r = w.api.move(second, "accept")
    assert r.status_code == 409 and "HS-APPR" in r.json()["detail"]


def test_two_pending_applications_of_one_household_flag_each_other_and_the_approval_blocks_the_other(w: Window):
    c = w.intake("homestead", b(60, 240, 70, 250), household_id="HH4")
    assert w.rule(c, "HS-ONE-PEND")["status"] == "pass"
    d = w.intake("homestead", b(75, 240, 85, 250), household_id="HH4")
    pend = w.rule(d, "HS-ONE-PEND")
    assert pend["status"] == "warn"
    assert [f["attrs"]["case_no"] for f in pend["features"]] == [c["case_no"]]
    assert c["case_no"] in pend["message"]
    # the earlier one learns of the later one at once (its check follows the intake)
    follow = w.check(c)
    assert follow["trigger"] == "follow"
    assert [f["attrs"]["case_no"] for f in w.rule(c, "HS-ONE-PEND")["features"]] == [d["case_no"]]
    d = w.to_leader(d)
    c = w.approve(c)
    # the approval is a decision the other application now meets: 一户一宅 blocks it, and the leader cannot approve it
    one = w.rule(d, "HS-ONE-APP")
    assert one["status"] == "block" and [f["attrs"]["case_no"] for f in one["features"]] == [c["case_no"]]
    assert w.rule(d, "HS-ONE-PEND")["status"] == "pass"
    r = w.api.move(w.api.get(f"/api/v1/cases/{d['id']}").json(), "approve", as_="leader")
    assert r.status_code == 409 and "HS-ONE-APP" in r.json()["detail"]
    audit = w.api.get(f"/api/v1/cases/{d['id']}/audit").json()
    followed = [e for e in audit if e["action"] == "check.run" and (e["after"] or {}).get("trigger") == "follow"]
    assert followed[-1]["after"]["after"] == c["case_no"]
    assert followed[-1]["after"]["change"] == "transition.approve"


def test_first_come_first_served_the_later_application_is_warned_and_a_refusal_leaves_the_map(w: Window, conn):
    before = versions(conn)
    earlier = w.intake("homestead", b(20, 260, 40, 280), household_id="HH5")
    later = w.intake("homestead", b(30, 270, 40, 285), household_id="HH6")
    assert versions(conn)["cases_pending"] == (before["cases_pending"][0] + 2, before["cases_pending"][1] + 2)
    pend = w.rule(later, "HS-PEND")
    assert pend["status"] == "warn" and later["check"]["verdict"] == "warn"
    assert [f["attrs"]["case_no"] for f in pend["features"]] == [earlier["case_no"]]
    assert pend["overlap_m2"] == pytest.approx(100.0, abs=0.01)  # 10 m × 10 m
    assert "100.00 平方米" in pend["message"] and earlier["case_no"] in pend["message"]
    assert w.rule(earlier, "HS-PEND")["status"] == "pass"  # the later one has no claim on the earlier
    assert w.check(earlier)["trigger"] == "boundary"  # so its check was not run again for the later intake
    # the earlier application is refused (withdrawn): it leaves the map, the later one's warning goes with it
    w.move(earlier, "refuse", reason="申请人撤回申请")
    assert w.rule(later, "HS-PEND")["status"] == "pass"
    assert w.check(later)["verdict"] == "pass"
    assert versions(conn)["cases_pending"][1] == before["cases_pending"][1] + 1


def test_an_approved_requisition_blocks_a_second_one_over_the_same_land(w: Window):
    first = w.intake("requisition", b(100, 0, 200, 100), applicant="咸安区土地储备中心", project_name="工业园一期")
    pending = w.intake("requisition", b(150, 0, 180, 100), applicant="咸安区城投公司", project_name="道路")
    pend = w.rule(pending, "RQ-PEND")
    assert pend["status"] == "warn" and [f["attrs"]["case_no"] for f in pend["features"]] == [first["case_no"]]
    assert pend["overlap_m2"] == pytest.approx(3000.0, abs=0.01)
    first = w.approve(first)
    # the pending one's check followed the approval: 重复报批
    dup = w.rule(pending, "RQ-APPR")
    assert dup["status"] == "block" and [f["attrs"]["case_no"] for f in dup["features"]] == [first["case_no"]]
    assert dup["overlap_m2"] == pytest.approx(3000.0, abs=0.01)
    assert "重复报批" in dup["title"] and first["case_no"] in dup["message"] and "3000.00 平方米" in dup["message"]
    again = w.intake("requisition", b(190, 50, 200, 60), applicant="某公司", project_name="仓库")
    dup = w.rule(again, "RQ-APPR")
    assert dup["status"] == "block" and dup["overlap_m2"] == pytest.approx(100.0, abs=0.01)
    assert w.rule(again, "RQ-PEND")["status"] == "pass"  # the pending one lies apart from it
    # a homestead on the requisitioned land is blocked too; a requisition over an approved homestead is warned
    home = w.intake("homestead", b(120, 20, 130, 30), household_id="HH7")
    appr = w.rule(home, "HS-APPR")
    assert appr["status"] == "block" and appr["overlap_m2"] == pytest.approx(100.0, abs=0.01)


def test_an_approved_mining_right_conflicts_with_the_next_application(w: Window, conn):
    first = w.intake(
        "mining", b(600, 0, 700, 100), applicant="丙矿业有限公司", mineral="石灰岩", depth_top=250, depth_bottom=50
    )
    second = w.intake(
        "mining", b(650, 0, 750, 100), applicant="丁矿业有限公司", mineral="石灰岩", depth_top=200, depth_bottom=0
    )
    pend = w.rule(second, "MN-PEND")
    assert pend["status"] == "block" and [f["attrs"]["case_no"] for f in pend["features"]] == [first["case_no"]]
    assert pend["overlap_m2"] == pytest.approx(5000.0, abs=0.01)
    w.approve(first)
    right = conn.execute(
        "SELECT licence_no, holder, depth_top, depth_bottom, valid_from, valid_to FROM mining_rights "
        "WHERE props->>'case_no' = %s",
        (first["case_no"],),
    ).fetchone()
    assert right[1:4] == ("丙矿业有限公司", 250.0, 50.0)
    third = w.intake(
        "mining", b(690, 90, 720, 120), applicant="戊矿业", mineral="石灰岩", depth_top=100, depth_bottom=0
    )
    hit = w.rule(third, "MN-RIGHT")
    assert hit["status"] == "block" and [f["attrs"]["licence_no"] for f in hit["features"]] == [right[0]]
    assert hit["overlap_m2"] == pytest.approx(100.0, abs=0.01)
    # the second application, lodged before the grant, now meets the right (its check followed the approval)
    assert w.rule(second, "MN-RIGHT")["features"][0]["attrs"]["licence_no"] == right[0]
    assert w.rule(second, "MN-PEND")["status"] == "pass"  # the first is no longer pending: it is a right


def test_the_layers_of_the_cases_are_vector_tiles_for_staff_with_versions(w: Window, api, conn):
    plot = lonlat(b(40, 240, 52, 252)).centroid
    x, y = tile_of(plot.x, plot.y, 16)
    case = w.intake("homestead", b(40, 240, 52, 252), household_id="HH2")
    pending = api.get(f"/tiles/cases/cases_pending/16/{x}/{y}.pbf")
    assert pending.status_code == 200 and pending.headers["cache-control"].startswith("private")
    version = versions(conn)["cases_pending"][0]
    assert pending.headers["etag"] == f'"cases_pending-{version}"'
    (feature,) = mapbox_vector_tile.decode(pending.content)["cases_pending"]["features"]
    props = feature["properties"]
    assert (props["case_no"], props["kind"], props["status"]) == (case["case_no"], "homestead", "received")
    assert "household_id" not in props and "applicant_name" not in props  # no persons in tiles
    assert api.get(f"/tiles/cases/cases_approved/16/{x}/{y}.pbf").status_code == 204
    # anonymous visitors do not see the cases; the public tile route has no such layer
    assert api.get(f"/tiles/cases/cases_pending/16/{x}/{y}.pbf", as_=None).status_code == 401
    assert api.get(f"/tiles/cases_pending/16/{x}/{y}.pbf", as_=None).status_code == 404
    tilejson = api.get("/tiles/cases/cases_pending.json").json()
    assert tilejson["tiles"][0].endswith("/tiles/cases/cases_pending/{z}/{x}/{y}.pbf")
    assert "household_id" not in tilejson["vector_layers"][0]["fields"]
    # approved: it leaves the pending layer for the approved one, and both versions move
    w.approve(case)
    assert versions(conn)["cases_pending"][0] > version
    assert api.get(f"/tiles/cases/cases_pending/16/{x}/{y}.pbf").status_code == 204
    approved = api.get(f"/tiles/cases/cases_approved/16/{x}/{y}.pbf")
    (feature,) = mapbox_vector_tile.decode(approved.content)["cases_approved"]["features"]
    assert feature["properties"]["status"] == "approved" and feature["properties"]["case_no"] == case["case_no"]
    # the map fetches a tile of both layers of the cases at once: the same layers, in the order asked for
    both = api.get(f"/tiles/cases/16/{x}/{y}.pbf?layers=cases_pending,cases_approved")
    assert both.status_code == 200 and both.headers["cache-control"].startswith("private")
    assert both.content == approved.content  # no pending case here any more: the approved layer alone
    assert both.headers["etag"] == f'"cases_pending-{versions(conn)["cases_pending"][0]}.cases_approved-' + (
        f'{versions(conn)["cases_approved"][0]}"'
    )
    assert api.get(f"/tiles/cases/16/{x}/{y}.pbf", as_=None).status_code == 401
    assert api.get(f"/tiles/cases/16/{x}/{y}.pbf?layers=parcels").status_code == 404
    health = api.get("/healthz", as_=None).json()["layers"]
    assert health["cases_approved"]["count"] == 1 and health["cases_pending"]["count"] == 0
    # the one map lists them for staff only
    html = api.client.get("/map").text
    assert "/tiles/cases/" not in html
