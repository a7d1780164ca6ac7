"""After a homestead's approval: the three site visits in their order with photos and findings, the as-built
footprint compared with the approved plot (to the m²), and every bad input refused with nothing written."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from shapely.geometry import Polygon, mapping

from tests.support.cases import Window
from tests.support.onemap import b, lonlat

PLOT = b(40, 240, 52, 252)  # 144 m² of village land (0702): the cap is 200 m²


@pytest.fixture
def w(api, conn, one_map) -> Window:
    return Window(api, conn)


@pytest.fixture
def certified(w: Window) -> dict:
    case = w.approve(w.intake("homestead", PLOT, household_id="HH2"))
    return w.move(case, "issue_certificate")


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def image(fmt: str = "JPEG", size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 160, 90)).save(buf, format=fmt)
    return buf.getvalue()


def footprint(geom, name: str = "asbuilt.geojson") -> tuple[str, bytes, str]:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": mapping(geom)}]}
    return (name, json.dumps(fc).encode(), "application/geo+json")


def visit(w: Window, case: dict, step: str, photos=None, as_built=None, as_="clerk", **fields):
    fresh = w.api.get(f"/api/v1/cases/{case['id']}").json()
    data = {
        "version": str(fresh["version"]),
        "step": step,
        "visited_on": today().isoformat(),
        "inspector": "桂花镇村镇建设服务中心 刘强",
        "findings": "现场与批准范围一致。",
        **fields,
    }
    files = [("photos", p) for p in (photos if photos is not None else [("site.jpg", image(), "image/jpeg")])]
    if as_built is not None:
        files.append(("as_built", as_built))
    return w.api.post(f"/api/v1/cases/{case['id']}/visits", as_=as_, data=data, files=files)


def counts(conn) -> tuple[int, int]:
    return conn.execute("SELECT (SELECT count(*) FROM site_visits), (SELECT count(*) FROM visit_photos)").fetchone()


def test_the_three_visits_in_their_order_and_the_as_built_footprint(w: Window, certified: dict, conn):
    case = certified
    r = visit(w, case, "completion", as_built=footprint(lonlat(PLOT)))
    assert r.status_code == 409 and "site_selection" in r.json()["detail"]  # the visits come in their order
    r = visit(w, case, "site_selection", as_="planner")
    assert r.status_code == 403
    jpeg, png = image(), image("PNG", (40, 30))
    r = visit(w, case, "site_selection", photos=[("东侧.jpg", jpeg, "image/jpeg"), ("西侧.png", png, "image/png")])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case"]["status"] == "site_surveyed"
    photos = body["visit"]["photos"]
    assert [(p["filename"], p["media_type"], p["width"], p["height"]) for p in photos] == [
        ("东侧.jpg", "image/jpeg", 64, 48),
        ("西侧.png", "image/png", 40, 30),
    ]
    got = w.api.get(f"/api/v1/cases/{case['id']}/visits/{body['visit']['id']}/photos/{photos[0]['id']}")
    assert got.status_code == 200 and got.content == jpeg and got.headers["content-type"] == "image/jpeg"
    assert (
        w.api.get(
            f"/api/v1/cases/{case['id']}/visits/{body['visit']['id']}/photos/{photos[0]['id']}", as_=None
        ).status_code
        == 401
    )
    r = visit(w, case, "setting_out", findings="按批准坐标放线，四角已打桩。")
    assert r.status_code == 201 and r.json()["case"]["status"] == "staked"

    # built 6 m too far east: 240 m² of house, 96 m² outside the plot, 40 m² over the 200 m² cap: recorded, blocked
    r = visit(w, case, "completion", as_built=footprint(lonlat(b(38, 240, 58, 252))), findings="东侧超出批准范围。")
    assert r.status_code == 201, r.text
    failed = r.json()
    c = failed["visit"]["comparison"]
    assert failed["visit"]["verdict"] == "block" and failed["case"]["status"] == "staked"
    assert (c["built_m2"], c["plot_m2"], c["outside_m2"], c["cap_m2"], c["over_cap_m2"]) == (
        pytest.approx(240.0, abs=0.01),
        pytest.approx(144.0, abs=0.01),
        pytest.approx(96.0, abs=0.01),
        200.0,
        pytest.approx(40.0, abs=0.01),
    )
    # put right: 0.2 m over the east line (1.60 m², more than the 1 m² of survey noise): completed with a warning
    r = visit(w, case, "completion", as_built=footprint(lonlat(b(42, 242, 52.2, 250))), findings="整改后复验。")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["visit"]["verdict"] == "warn" and done["case"]["status"] == "completed"
    assert done["visit"]["comparison"]["outside_m2"] == pytest.approx(1.6, abs=0.01)
    assert done["visit"]["comparison"]["over_cap_m2"] == 0.0
    listed = w.api.get(f"/api/v1/cases/{case['id']}/visits").json()
    assert listed["due"] is None
    assert [(v["step"], v["verdict"]) for v in listed["visits"]] == [
        ("site_selection", "pass"),
        ("setting_out", "pass"),
        ("completion", "block"),
        ("completion", "warn"),
    ]
    trail = [e["action"] for e in w.api.get(f"/api/v1/cases/{case['id']}/audit").json()]
    assert trail.count("visit.record") == 4 and "transition.visit_completion" in trail
    # completed land stays approved land on the one map
    assert conn.execute("SELECT on_map FROM cases WHERE id = %s", (case["id"],)).fetchone()[0] == "approved"
    assert w.move(done["case"], "archive")["status"] == "archived"


def test_bad_photos_and_footprints_are_refused_and_nothing_is_written(w: Window, certified: dict, conn):
    case = certified
    version = w.api.get(f"/api/v1/cases/{case['id']}").json()["version"]
    cases = [
        ([("notes.jpg", "这不是照片".encode(), "image/jpeg")], "not an image"),
        ([("big.jpg", image() + b"\0" * (8 * 1024 * 1024), "image/jpeg")], "larger than the 8 MB allowed"),
        ([("anim.gif", image("GIF"), "image/gif")], "format GIF is not taken"),
        ([("empty.jpg", b"", "image/jpeg")], "the photo is empty"),
        ([(f"p{i}.jpg", image(), "image/jpeg") for i in range(10)], "at most 9 photos"),
        ([], "upload at least one photo"),
    ]
    for photos, message in cases:
        r = visit(w, case, "site_selection", photos=photos)
        assert r.status_code == 422, (message, r.text)
        assert message in r.json()["detail"], r.json()["detail"]
    r = visit(w, case, "site_selection", visited_on=(today() + timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "in the future" in r.json()["detail"]
    r = visit(w, case, "site_selection", visited_on="2020-01-01")
    assert r.status_code == 422 and "before the approval" in r.json()["detail"]
    r = visit(w, case, "site_selection", findings=" ")
    assert r.status_code == 422 and "findings are missing" in r.json()["detail"]
    assert counts(conn) == (0, 0)
    assert w.api.get(f"/api/v1/cases/{case['id']}").json()["version"] == version

    assert visit(w, case, "site_selection").status_code == 201
    assert visit(w, case, "setting_out").status_code == 201
    before = counts(conn)
    version = w.api.get(f"/api/v1/cases/{case['id']}").json()["version"]
    # the as-built file of a plot in another county, of a plot 388 m away, no file at all
    far_county = footprint(Polygon([(100.0, 30.0), (100.001, 30.0), (100.001, 30.001), (100.0, 30.001)]))
    r = visit(w, case, "completion", as_built=far_county)
    assert r.status_code == 422 and "outside the county" in r.json()["detail"], r.text
    assert "outside_county" in {i["code"] for i in r.json()["issues"]}
    r = visit(w, case, "completion", as_built=footprint(lonlat(b(440, 240, 452, 252))))
    assert r.status_code == 422 and "388 m from the approved plot" in r.json()["detail"]
    r = visit(w, case, "completion")
    assert r.status_code == 422 and "needs the as-built footprint" in r.json()["detail"]
    r = visit(w, case, "completion", as_built=("asbuilt.txt", b"J1,3303240,38530040\n", "text/plain"))
    assert r.status_code == 422 and "asbuilt.txt" in r.json()["detail"]
    assert counts(conn) == before
    assert w.api.get(f"/api/v1/cases/{case['id']}").json()["version"] == version
    assert w.api.get(f"/api/v1/cases/{case['id']}").json()["status"] == "staked"


def test_visits_are_no_bare_transitions(w: Window, certified: dict):
    r = w.api.move(w.api.get(f"/api/v1/cases/{certified['id']}").json(), "visit_site_selection")
    assert r.status_code == 409 and "site-visit form" in r.json()["detail"]
