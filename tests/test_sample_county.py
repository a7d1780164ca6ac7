"""The synthetic sample county: generated deterministically, matching the catalog, telling anchors."""

import hashlib
import json
from pathlib import Path

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from gis.catalog import catalog
from gis.check import CheckRequest, run_check
from gis.importer import load, read
from sample_parcels.generate import generate
from service.settings import Settings
from web.app import create_app

SAMPLE = Path(__file__).resolve().parent.parent / "sample_parcels"
KINDS = {
    "homestead_clean": "homestead", "homestead_on_farmland": "homestead", "homestead_second_house": "homestead",
    "requisition_50ha": "requisition", "mining_overlap": "mining", "mining_depth_disjoint": "mining", "redline": "homestead",
}  # fmt: skip


@pytest.fixture(scope="module")
def small_county(tmp_path_factory):
    out = tmp_path_factory.mktemp("county") / "c.gpkg"
    counts = generate(out, parcels=2000, seed=7, anchors_out=out.with_suffix(".json"))
    return out, counts


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for name in catalog():
        df = pyogrio.read_dataframe(path, layer=name)
        h.update(b"".join(shapely.to_wkb(df.geometry.values)))
        h.update(df.drop(columns="geometry").to_csv().encode())
    return h.hexdigest()


def test_layers_match_the_catalog(small_county):
    path, counts = small_county
    layers = {row[0] for row in pyogrio.list_layers(path)}
    assert layers == set(catalog())
    for name, spec in catalog().items():
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == "EPSG:4490", name
        assert set(spec.column_names) <= set(info["fields"]), (name, info["fields"])
        df = pyogrio.read_dataframe(path, layer=name)
        assert df.geometry.is_valid.all(), name
        assert set(df.geometry.geom_type) == {"MultiPolygon"}, name
        minx, miny, maxx, maxy = df.total_bounds
        assert 114.05 < minx and maxx < 114.75 and 29.6 < miny and maxy < 30.1, name
    assert 1800 <= counts["parcels"] <= 2400


def test_same_seed_same_county(small_county, tmp_path):
    path, _ = small_county
    again = tmp_path / "again.gpkg"
    generate(again, parcels=2000, seed=7)
    assert _digest(again) == _digest(path)


def test_parcels_and_landuse_do_not_overlap(small_county):
    path, _ = small_county
    for name in ("parcels", "landuse", "townships", "land_price_zones"):
        df = pyogrio.read_dataframe(path, layer=name).to_crs(4526)
        total = df.geometry.area.sum()
        union = shapely.union_all(df.geometry.values).area
        assert total == pytest.approx(union, rel=1e-6), name


def test_attribute_domains(small_county):
    path, _ = small_county
    p = pyogrio.read_dataframe(path, layer="parcels")
    assert set(p.owner_kind) == {"collective", "person", "state"}
    assert p.parcel_no.str.fullmatch(r"421202\d{6}(JA|JC|GB)\d{5}").all()
    assert p.parcel_no.is_unique
    homes = p[p.right_type == "宅基地使用权"]
    assert homes.household_id.notna().all() and homes.household_id.duplicated().sum() >= 2  # some hold two
    m = pyogrio.read_dataframe(path, layer="mining_rights")
    assert (m.depth_top > m.depth_bottom).all()


def test_committed_sample_is_small():
    assert (SAMPLE / "county.gpkg").stat().st_size < 8 * 1024 * 1024


@pytest.fixture
def sample_loaded(conn):
    for name in catalog():
        load(conn, read(SAMPLE / "county.gpkg", name))


def test_anchors_say_what_the_map_says(conn, sample_loaded):
    anchors = json.loads((SAMPLE / "anchors.json").read_text("utf-8"))
    assert set(anchors) == set(KINDS)
    for name, kind in KINDS.items():
        a = anchors[name]
        report = run_check(conn, CheckRequest(kind=kind, geometry=shape(a["geojson"]), household_id=a.get("household_id"),
                                              depth_top=a.get("depth_top"), depth_bottom=a.get("depth_bottom")))  # fmt: skip
        assert report.area_m2 == pytest.approx(a["area_m2"], abs=0.01), name
        if "verdict" in a["expect"]:
            assert report.verdict == a["expect"]["verdict"], name
        for rule, status in a["expect"].get("rules", {}).items():
            assert report.rule(rule).status == status, (name, rule)
    overlap = anchors["mining_overlap"]
    report = run_check(conn, CheckRequest(kind="mining", geometry=shape(overlap["geojson"]), depth_top=300, depth_bottom=100))
    assert report.rule("MN-RIGHT").overlap_m2 == pytest.approx(overlap["overlap_m2"], abs=0.5)
    assert report.rule("MN-RIGHT").features[0].attrs["licence_no"] == overlap["licence_no"]


def test_sample_county_loads_and_health_lists_every_layer(db_url, conn, sample_loaded, tmp_path):
    with TestClient(create_app(Settings(_env_file=None, database_url=db_url, data_dir=tmp_path))) as client:
        body = client.get("/healthz").json()
    assert set(body["layers"]) == set(catalog())
    assert all(v["version"] == 1 and v["count"] > 0 for v in body["layers"].values())
    assert body["layers"]["parcels"]["count"] == len(pyogrio.read_dataframe(SAMPLE / "county.gpkg", layer="parcels"))
