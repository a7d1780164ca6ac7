"""The committed sample county in a real PostGIS: every anchor says what the map says; /healthz lists every layer."""

import json
from pathlib import Path

import pyogrio
import pytest
from shapely.geometry import shape

from gis.catalog import all_layers, case_layers, catalog
from gis.check import CheckRequest, run_check
from gis.importer import load, read

SAMPLE = Path(__file__).resolve().parent.parent / "sample_parcels"
KINDS = {
    "homestead_clean": "homestead",
    "homestead_on_farmland": "homestead",
    "homestead_second_house": "homestead",
    "requisition_50ha": "requisition",
    "mining_overlap": "mining",
    "mining_depth_disjoint": "mining",
    "redline": "homestead",
}


@pytest.fixture
def sample_loaded(conn):
    for name in catalog():
        load(conn, read(SAMPLE / "county.gpkg", name))


def test_anchors_say_what_the_map_says(conn, sample_loaded):
    anchors = json.loads((SAMPLE / "anchors.json").read_text("utf-8"))
    assert set(anchors) == set(KINDS)
    for name, kind in KINDS.items():
        a = anchors[name]
        report = run_check(
            conn,
            CheckRequest(
                province="湖北",
                kind=kind,
                geometry=shape(a["geojson"]),
                household_id=a.get("household_id"),
                depth_top=a.get("depth_top"),
                depth_bottom=a.get("depth_bottom"),
            ),
        )
        assert report.area_m2 == pytest.approx(a["area_m2"], abs=0.01), name
        if "verdict" in a["expect"]:
            assert report.verdict == a["expect"]["verdict"], name
        for rule, status in a["expect"].get("rules", {}).items():
            assert report.rule(rule).status == status, (name, rule)
    red = anchors["redline"]
    report = run_check(conn, CheckRequest(province="湖北", kind="homestead", geometry=shape(red["geojson"])))
    assert report.rule("HS-RED").overlap_m2 == pytest.approx(
        red["area_m2"], abs=0.01
    )  # wholly inside: no more, no less
    farm = anchors["homestead_on_farmland"]
    report = run_check(
        conn,
        CheckRequest(
            province="湖北", kind="homestead", geometry=shape(farm["geojson"]), household_id=farm["household_id"]
        ),
    )
    assert report.rule("HS-BF").overlap_m2 == pytest.approx(42.0, abs=0.01)
    mine = anchors["mining_overlap"]
    report = run_check(
        conn,
        CheckRequest(province="湖北", kind="mining", geometry=shape(mine["geojson"]), depth_top=300, depth_bottom=100),
    )
    assert report.rule("MN-RIGHT").overlap_m2 == pytest.approx(mine["overlap_m2"], abs=0.5)
    assert report.rule("MN-RIGHT").features[0].attrs["licence_no"] == mine["licence_no"]


def test_sample_county_loads_and_health_lists_every_layer(client, sample_loaded):
    body = client.get("/healthz").json()
    assert set(body["layers"]) == set(all_layers())
    assert all(body["layers"][n]["version"] == 1 and body["layers"][n]["count"] > 0 for n in catalog())
    assert all(body["layers"][n]["count"] == 0 for n in case_layers())  # no case lodged yet
    assert body["layers"]["parcels"]["count"] == len(pyogrio.read_dataframe(SAMPLE / "county.gpkg", layer="parcels"))
