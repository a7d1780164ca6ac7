"""Boundary exports of a case: every format read back by the project's own readers gives the same plot."""

import json
from pathlib import Path

import pytest
from shapely.geometry import mapping, shape

from gis.boundary import read_boundary_bytes
from gis.boundary.export import ring_counts
from gis.check import boundary_geometry
from tests.support.api import Api
from tests.support.onemap import b, lonlat

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
TYPES = {
    "txt": "text/plain; charset=gb18030",
    "mining": "text/plain; charset=utf-8",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
}


def upload(api: Api, case: dict, path: Path) -> dict:
    r = api.post(
        f"/api/v1/cases/{case['id']}/boundary",
        data={"version": case["version"]},
        files={"file": (path.name, path.read_bytes())},
    )
    assert r.status_code == 200, r.text
    return api.get(f"/api/v1/cases/{case['id']}").json()


@pytest.fixture
def world(api, one_map):
    req = api.post(
        "/api/v1/cases",
        json={
            "kind": "requisition",
            "applicant_name": "咸安区工业园管委会",
            "applicant_type": "unit",
            "project_name": "高桥工业园二期",
        },
    ).json()
    req = upload(api, req, DATA / "requisition_multi_hole_gbk.txt")  # three parcels, four parts, one hole
    mine = api.post(
        "/api/v1/cases",
        json={
            "kind": "mining",
            "applicant_name": "咸宁胜利石料有限公司",
            "applicant_type": "unit",
            "company": "咸宁胜利石料有限公司",
            "depth_top": 320,
            "depth_bottom": 80,
        },
    ).json()
    mine = upload(api, mine, DATA / "mining_projected_gbk.txt")  # one included ring with one cut-out
    bare = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "王五", "household_id": "HH9"}).json()
    yield api, req, mine, bare


@pytest.mark.parametrize("fmt", list(TYPES))
def test_every_format_round_trips_the_requisition(world, fmt):
    api, req, _, _ = world
    assert ring_counts(boundary_geometry([shape(req["boundary"])])) == (4, 1, 23)
    r = api.get(f"/api/v1/cases/{req['id']}/boundary.{fmt}", as_="planner")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == TYPES[fmt]
    suffix = {"mining": "txt"}.get(fmt, fmt)
    name = f"{req['case_no']}-{'mining' if fmt == 'mining' else 'boundary'}.{suffix}"
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    back = read_boundary_bytes(r.content, name)
    assert not back.all_warnings, [str(w) for w in back.all_warnings]
    # a corner string has no parcel number: its reader names the parcel by the ring's remark
    assert len(back.parcels) == 1 and back.parcels[0].parcel_no == (
        "高桥工业园二期" if fmt == "mining" else req["case_no"]
    )
    assert round(back.area_m2) == round(req["area_m2"]) == 526584
    assert ring_counts(boundary_geometry([p.geometry for p in back.parcels])) == (4, 1, 23)


def test_txt_is_the_gbk_exchange_format_in_zone_38(world):
    api, req, _, _ = world
    text = api.get(f"/api/v1/cases/{req['id']}/boundary.txt").content.decode("gb18030")
    lines = text.split("\r\n")
    assert lines[0] == "[属性描述]" and "带号=38" in lines and "坐标系=2000国家大地坐标系" in lines
    header = lines[lines.index("[地块坐标]") + 1]
    # 23 vertices in 5 rings, each ring closed by repeating its first point: 28 point lines
    assert header.startswith(f"28,52.6584,{req['case_no']},高桥工业园二期,面,") and header.endswith(",@")


def test_mining_string_keeps_the_cut_out_and_the_depths(world):
    api, _, mine, _ = world
    r = api.get(f"/api/v1/cases/{mine['id']}/boundary.mining")
    text = r.content.decode("utf-8").strip()
    assert text.startswith("2,4,1,")
    back = read_boundary_bytes(r.content, "corners.txt")
    parcel = back.parcels[0]
    assert (parcel.depth_top, parcel.depth_bottom) == (320, 80)
    assert [ring["flag"] for ring in back.header["rings"]] == [1, -1]
    assert round(back.area_m2) == round(mine["area_m2"]) == 190000  # 400 × 500 m less 100 × 100 m
    assert ring_counts(parcel.geometry) == (1, 1, 8)
    for fmt in ("geojson", "gpkg", "kml", "txt"):
        data = api.get(f"/api/v1/cases/{mine['id']}/boundary.{fmt}").content
        again = read_boundary_bytes(data, f"x.{'txt' if fmt == 'txt' else fmt}")
        assert round(again.area_m2) == 190000 and ring_counts(again.parcels[0].geometry) == (1, 1, 8), fmt


def test_a_drawn_homestead_exports_to_the_square_metre(world):
    api, _, _, bare = world
    r = api.post(
        f"/api/v1/cases/{bare['id']}/boundary",
        data={"version": bare["version"]},
        files={"file": ("drawn.geojson", json.dumps(mapping(lonlat(b(40, 240, 52, 252)))).encode())},
    )
    assert r.status_code == 200, r.text
    back = read_boundary_bytes(api.get(f"/api/v1/cases/{bare['id']}/boundary.kml").content, "x.kml")
    assert round(back.area_m2) == 144 and back.parcels[0].name == "王五宅基地"


def test_who_may_export(world):
    api, req, _, bare = world
    path = f"/api/v1/cases/{req['id']}/boundary.geojson"
    assert api.get(path, as_="leader").status_code == 200
    # a reviewer without a task on the case does not see it at all
    r = api.get(path, as_="rev-mineral")
    assert r.status_code == 404 and r.json()["detail"] == f"案件不存在 / case {req['id']} not found"
    assert api.get(path, as_=None).status_code == 401
    r = api.get(f"/api/v1/cases/{bare['id']}/boundary.txt")
    assert r.status_code == 409
    assert (
        r.json()["detail"]
        == f"案件 {bare['case_no']} 尚无用地范围，无法导出 / case {bare['case_no']} has no boundary to export yet"
    )
    assert api.get(f"/api/v1/cases/{req['id']}/boundary.shp").status_code == 422
    audit = api.get(f"/api/v1/cases/{req['id']}/audit").json()
    assert [e["after"]["format"] for e in audit if e["action"] == "boundary.export"] == ["geojson"]
