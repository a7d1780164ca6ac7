"""The check engine against a small hand-made one map in zone 38 (EPSG:4526), with exact areas."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import MultiPolygon, Polygon

from gis.check import CheckInputError, CheckRequest, run_check
from tests.support.onemap import b, lonlat

ON = date(2026, 11, 22)
BEIJING = ZoneInfo("Asia/Shanghai")


def check(conn, kind, geom, **kw):
    return run_check(conn, CheckRequest(province="湖北", kind=kind, geometry=lonlat(geom), on_date=ON, **kw))


def test_clean_homestead_passes_every_rule(conn, one_map):
    r = check(conn, "homestead", b(40, 240, 52, 252), household_id="HH2")
    assert r.verdict == "pass"
    assert r.area_m2 == pytest.approx(144.0, abs=0.01)
    assert {x.rule: x.status for x in r.rules} == {
        "HS-BF": "pass",
        "HS-RED": "pass",
        "HS-VIL": "pass",
        "HS-CAP": "pass",
        "HS-ONE": "pass",
        "HS-ONE-APP": "pass",
        "HS-ONE-PEND": "pass",
        "HS-APPR": "pass",
        "HS-PEND": "pass",
        "HS-OWN": "pass",
    }
    assert r.homestead == {
        "cap_m2": 200.0,
        "land_type": "other",
        "province": "湖北",
        "area_m2": pytest.approx(144.0, abs=0.01),
    }
    assert [(a.code, round(a.area_m2, 2)) for a in r.landuse] == [("0702", 144.0)]
    assert r.layer_versions["basic_farmland"] == 1


def test_homestead_on_farmland_blocks_with_exact_overlap(conn, one_map):
    r = check(conn, "homestead", b(90, 90, 105, 102), household_id="HH2")
    assert r.verdict == "block"
    bf = r.rule("HS-BF")
    assert bf.status == "block"
    assert bf.overlap_m2 == pytest.approx(100.0, abs=0.01)
    assert bf.overlap_mu == pytest.approx(0.15, abs=1e-4)
    assert bf.features[0].attrs["patch_no"] == "BF1"
    assert bf.layer_version == 1
    assert "永久基本农田 100.00 平方米（0.150 亩）" in bf.message
    assert bf.geometry["type"] in ("Polygon", "MultiPolygon")
    vil = r.rule("HS-VIL")
    assert vil.status == "warn" and vil.overlap_m2 == pytest.approx(180.0, abs=0.01)
    cap = r.rule("HS-CAP")  # on cultivated land the cap is 140 m²; the plot is 180 m²
    assert cap.status == "block" and "140" in cap.message
    assert cap.basis.startswith("《湖北省农村村民住宅建设管理办法》")  # the province's caps cite the province's rule
    assert r.categories["耕地"] == pytest.approx(150.0, abs=0.01)
    assert r.categories["unknown"] == pytest.approx(30.0, abs=0.01)


def test_touching_along_an_edge_is_no_overlap(conn, one_map):
    r = check(conn, "homestead", b(100, 20, 110, 30), household_id="HH2")
    assert r.rule("HS-BF").status == "pass"
    assert r.rule("HS-BF").overlap_m2 == 0
    assert r.rule("HS-RED").status == "pass"


def test_second_homestead_of_a_household_blocks(conn, one_map):
    r = check(conn, "homestead", b(40, 240, 52, 252), household_id="HH1")
    one = r.rule("HS-ONE")
    assert one.status == "block"
    assert [f.attrs["parcel_no"] for f in one.features] == ["JC001"]
    assert "已登记宅基地 1 处（JC001）" in one.message
    r = check(conn, "homestead", b(40, 240, 52, 252))
    assert r.rule("HS-ONE").status == "warn" and "未提供户号" in r.rule("HS-ONE").message


def test_red_line_blocks_every_kind(conn, one_map):
    for kind, rule in (("homestead", "HS-RED"), ("requisition", "RQ-RED"), ("mining", "MN-RED")):
        r = check(conn, kind, b(250, 50, 260, 60))
        assert r.rule(rule).status == "block", kind
        assert r.rule(rule).overlap_m2 == pytest.approx(100.0, abs=0.01)
        assert r.verdict == "block"


def test_multipart_requisition_with_a_hole(conn, one_map):
    part_a = Polygon(b(0, 0, 200, 100).exterior.coords, [b(50, 50, 60, 60).exterior.coords])
    geom = MultiPolygon([part_a, b(400, 0, 450, 50)])
    r = check(conn, "requisition", geom)
    assert r.area_m2 == pytest.approx(20000 - 100 + 2500, abs=0.01)
    assert r.rule("RQ-BF").status == "warn"
    assert r.rule("RQ-BF").overlap_m2 == pytest.approx(9900.0, abs=0.01)
    assert r.rule("RQ-MIN").status == "warn" and r.rule("RQ-MIN").overlap_m2 == pytest.approx(2500.0, abs=0.01)
    assert r.rule("RQ-UDB").status == "warn" and r.rule("RQ-UDB").overlap_m2 == pytest.approx(7500.0, abs=0.01)
    assert r.verdict == "warn"
    assert r.approval_level["level"] == "state_council"
    assert {o.owner: round(o.area_m2, 2) for o in r.owners} == {"张家村第一村民小组": 9900.0, "李家村民委员会": 10000.0}
    zones = {z.zone_no: z for z in r.compensation["zones"]}
    assert zones["Ⅰ"].area_m2 == pytest.approx(14900.0, abs=0.01)
    assert zones["Ⅰ"].amount == pytest.approx(14900 / (10000 / 15) * 50000, abs=0.01)
    assert zones["Ⅱ"].area_m2 == pytest.approx(7500.0, abs=0.01)
    assert zones["Ⅰ"].land_compensation == pytest.approx(zones["Ⅰ"].amount * 0.4)
    codes = {a.code: round(a.area_m2, 2) for a in r.landuse}
    assert codes == {"0101": 9900.0, "0103": 10000.0}
    assert r.categories["农用地"] == pytest.approx(19900.0, abs=0.01)
    assert r.categories["unknown"] == pytest.approx(2500.0, abs=0.01)


def test_requisition_on_other_land_goes_to_the_province(conn, one_map):
    r = check(conn, "requisition", b(100, 0, 150, 100))
    assert r.approval_level["level"] == "province"
    assert r.verdict == "pass"


def test_mining_depth_ranges_and_validity(conn, one_map):
    overlapping = check(conn, "mining", b(450, 50, 550, 150), depth_top=250, depth_bottom=50)
    right = overlapping.rule("MN-RIGHT")
    assert right.status == "block"
    assert right.overlap_m2 == pytest.approx(2500.0, abs=0.01)
    assert [f.attrs["licence_no"] for f in right.features] == ["C001"]
    disjoint = check(conn, "mining", b(450, 50, 550, 150), depth_top=90, depth_bottom=0)
    assert disjoint.rule("MN-RIGHT").status == "pass"
    expired = check(conn, "mining", b(450, 250, 550, 350), depth_top=250, depth_bottom=50)
    assert expired.rule("MN-RIGHT").status == "pass"


def lodge(conn, case_no, kind, geom, received_at, top=None, bottom=None, status="received", on_map="pending"):
    """A case row as the service leaves it (the layers of the cases are views over the cases table)."""
    return conn.execute(
        "INSERT INTO cases (case_no, kind, county, status, applicant_name, query_code_hash, received_at, depth_top, "
        "depth_bottom, on_map, geom) VALUES (%s, %s, '421202', %s, '甲', 'x', %s, %s, %s, %s, "
        "ST_Multi(ST_GeomFromText(%s, 4490))) RETURNING id",
        (case_no, kind, status, received_at.replace(tzinfo=BEIJING), top, bottom, on_map, lonlat(geom).wkt),
    ).fetchone()[0]


def test_pending_applications_first_come_first_served_to_the_second(conn, one_map):
    area = b(600, 0, 700, 100)
    lodge(conn, "XA-2026-CK-000001", "mining", b(650, 0, 750, 100), datetime(2026, 11, 2, 10, 0, 0), 300, 0)
    lodge(conn, "XA-2026-CK-000003", "mining", b(600, 50, 700, 150), datetime(2026, 11, 2, 10, 0, 2), 300, 0)
    lodge(conn, "XA-2026-CK-000004", "mining", b(600, 0, 610, 10), datetime(2026, 11, 1), 300, 0, "refused", None)
    me = lodge(conn, "XA-2026-CK-000002", "mining", area, datetime(2026, 11, 2, 10, 0, 1), 200, 0)
    r = check(
        conn, "mining", area, depth_top=200, depth_bottom=0, lodged_at=datetime(2026, 11, 2, 10, 0, 1), case_id=me
    )
    pend = r.rule("MN-PEND")
    assert pend.status == "block"
    assert [f.attrs["case_no"] for f in pend.features] == ["XA-2026-CK-000001"]
    assert pend.overlap_m2 == pytest.approx(5000.0, abs=0.01)
    assert "XA-2026-CK-000001 受理于 2026-11-02 10:00:00，重叠 5000.00 平方米" in pend.message
    # the later one is checked against us and loses; depth-disjoint pending ones never conflict
    r2 = check(
        conn, "mining", area, depth_top=600, depth_bottom=400, lodged_at=datetime(2026, 11, 2, 10, 0, 1), case_id=me
    )
    assert r2.rule("MN-PEND").status == "pass"
    # checked before intake (no lodging time, no case), every pending case comes first, the refused one never
    r3 = check(conn, "mining", area, depth_top=200, depth_bottom=0)
    assert [f.attrs["case_no"] for f in r3.rule("MN-PEND").features] == [
        "XA-2026-CK-000001",
        "XA-2026-CK-000003",
        "XA-2026-CK-000002",
    ]


def test_reimport_flips_a_verdict(conn, one_map, load_layer):
    plot = b(40, 240, 52, 252)
    assert check(conn, "homestead", plot, household_id="HH2").verdict == "pass"
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF2"}], [b(0, 0, 100, 100), b(45, 245, 60, 260)])
    r = check(conn, "homestead", plot, household_id="HH2")
    assert r.verdict == "block"
    assert r.rule("HS-BF").layer_version == 2
    assert r.rule("HS-BF").overlap_m2 == pytest.approx(49.0, abs=0.01)


def test_bad_input(conn, one_map):
    with pytest.raises(CheckInputError):
        check(conn, "homestead", Polygon())
    with pytest.raises(ValueError, match="unknown kind"):
        check(conn, "fishing", b(0, 0, 1, 1))
