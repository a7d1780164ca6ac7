"""The synthetic sample county: deterministic, matching the catalog, tiling without overlaps, telling anchors (no database)."""

import csv
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon, shape

from gis.catalog import catalog
from sample_parcels.generate import generate, main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_parcels"
GK = 4526
ON = date(2026, 11, 22)
LANDUSE_CODES = {
    row["code"] for row in csv.DictReader((ROOT / "gis" / "data" / "landuse_gbt21010.csv").open(encoding="utf-8"))
}
RIGHT_TYPES = {"集体土地所有权", "宅基地使用权", "国有建设用地使用权", "土地承包经营权"}
TOWNSHIPS = {
    "温泉街道",
    "浮山街道",
    "永安街道",
    "向阳湖镇",
    "官埠桥镇",
    "横沟桥镇",
    "贺胜桥镇",
    "双溪桥镇",
    "马桥镇",
    "桂花镇",
    "高桥镇",
    "大幕乡",
}
ANCHORS = {
    "homestead_clean",
    "homestead_on_farmland",
    "homestead_second_house",
    "requisition_50ha",
    "mining_overlap",
    "mining_depth_disjoint",
    "redline",
}


@pytest.fixture(scope="module")
def small_county(tmp_path_factory):
    out = tmp_path_factory.mktemp("county") / "c.gpkg"
    counts = generate(out, parcels=2000, seed=7, anchors_out=out.with_suffix(".json"))
    return out, counts


def _read(path: Path, name: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer=name)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for name in catalog():
        df = _read(path, name)
        h.update(b"".join(shapely.to_wkb(df.geometry.values)))
        h.update(df.drop(columns="geometry").to_csv().encode())
    return h.hexdigest()


def test_layers_match_the_catalog(small_county):
    path, counts = small_county
    assert {row[0] for row in pyogrio.list_layers(path)} == set(catalog())
    for name, spec in catalog().items():
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == "EPSG:4490", name
        assert list(info["fields"]) == spec.column_names, (name, info["fields"])
        df = _read(path, name)
        assert len(df) > 0, name
        assert shapely.is_valid(df.geometry.values).all(), name
        assert set(df.geometry.geom_type) == {"MultiPolygon"}, name
        minx, miny, maxx, maxy = df.total_bounds
        assert 114.08 < minx and maxx < 114.72 and 29.63 < miny and maxy < 30.07, (name, df.total_bounds)
        assert counts[name] == len(df)
    assert 1600 <= counts["parcels"] <= 2500, counts


def test_same_seed_same_county_and_cli(small_county, tmp_path):
    path, _ = small_county
    again = tmp_path / "again.gpkg"
    main(["--seed", "7", "--parcels", "2000", "--out", str(again), "--anchors", str(tmp_path / "again.json")])
    assert _digest(again) == _digest(path)
    assert (tmp_path / "again.json").read_text("utf-8") == path.with_suffix(".json").read_text("utf-8")
    other = tmp_path / "other.gpkg"
    generate(other, parcels=2000, seed=8)
    assert _digest(other) != _digest(path)


@pytest.mark.parametrize(
    "name",
    [
        "parcels",
        "landuse",
        "townships",
        "land_price_zones",
        "basic_farmland",
        "village_boundary",
        "mining_rights",
        "eco_redline",
    ],
)
def test_layers_do_not_overlap(small_county, name):
    path, _ = small_county
    geoms = _read(path, name).to_crs(GK).geometry.values
    total = shapely.area(geoms).sum()
    assert total == pytest.approx(shapely.union_all(geoms).area, rel=1e-6), name


def test_townships_zones_and_landuse_cover_the_county(small_county):
    path, _ = small_county
    county = shapely.union_all(_read(path, "townships").to_crs(GK).geometry.values)
    assert 1.2e9 < county.area < 2.2e9  # Xian'an is about 1 500 km²
    for name in ("land_price_zones", "landuse"):
        u = shapely.union_all(_read(path, name).to_crs(GK).geometry.values)
        assert u.area == pytest.approx(county.area, rel=1e-4), name
        assert shapely.difference(u, county.buffer(1)).area < 1.0, name
    for name in ("parcels", "village_boundary", "basic_farmland", "mining_rights", "urban_boundary", "eco_redline"):
        u = shapely.union_all(_read(path, name).to_crs(GK).geometry.values)
        assert shapely.difference(u, county.buffer(1)).area < 1.0, name


def test_attribute_domains(small_county):
    path, _ = small_county
    t = _read(path, "townships")
    assert 6 <= len(t) <= 12 and set(t.name) <= TOWNSHIPS and t.code.str.fullmatch(r"421202\d{3}").all()
    p = _read(path, "parcels")
    assert set(p.owner_kind) == {"collective", "person", "state"}
    assert set(p.right_type) == RIGHT_TYPES
    assert p.parcel_no.str.fullmatch(r"421202\d{6}(JA|JC|JD|GB)\d{5}").all() and p.parcel_no.is_unique
    assert set(p.township) <= TOWNSHIPS and p.village.notna().all()
    assert p.land_class.str[:4].isin(LANDUSE_CODES).all()
    homes = p[p.right_type == "宅基地使用权"]
    assert (homes.owner_kind == "person").all() and homes.parcel_no.str[12:14].eq("JC").all()
    assert homes.household_id.str.fullmatch(r"HH421202\d{6}-\d{4}").all()
    assert p[p.right_type != "宅基地使用权"].household_id.isna().all()
    per_household = homes.household_id.value_counts()
    assert 2 <= (per_household == 2).sum() <= len(per_household) * 0.05 and per_household.max() == 2
    areas = homes.to_crs(GK).area
    assert areas.between(115, 250).all() and 10 <= len(homes.village.unique())
    collective = p[p.owner_kind == "collective"]
    assert collective.owner.str.contains(r"村民委员会|村民小组|居民委员会").all()
    lu = _read(path, "landuse")
    assert lu.dlbm.str[:4].isin(LANDUSE_CODES).all() and lu.dlbm.str.fullmatch(r"\d{2}[\dH]\d[A-Z]?").all()
    assert lu.patch_no.str.fullmatch(r"\d{4,}").all() and lu.village.notna().all()
    shares = lu.to_crs(GK).assign(a=lambda d: d.area).groupby(lu.dlbm.str[:2]).a.sum()
    assert shares.idxmax() == "01" and shares["03"] > 0.15 * shares.sum()  # paddy plain, forested hills
    for code in (
        "0101",
        "0103",
        "0201",
        "0202",
        "0301",
        "0305",
        "0307",
        "0602",
        "0701",
        "0702",
        "1003",
        "1006",
        "1101",
        "1103",
        "1104",
    ):
        assert (lu.dlbm == code).any(), code
    m = _read(path, "mining_rights")
    assert 6 <= len(m) <= 12 and (m.depth_top > m.depth_bottom).all() and set(m.kind) == {"mining", "exploration"}
    assert m.licence_no.str.fullmatch(r"[CT]421200\d{14,16}").all() and m.licence_no.is_unique
    assert 1 <= (m.valid_to.astype(str) < ON.isoformat()).sum() <= 2
    z = _read(path, "land_price_zones")
    assert 3 <= len(z) <= 5 and z.price_per_mu.between(45000, 72000).all()
    assert (z.land_share == 0.4).all() and (z.resettlement_share == 0.6).all()
    assert len(_read(path, "village_boundary")) >= 24
    assert _read(path, "eco_redline").name.str.contains("大幕山").any()


def test_parcels_lie_on_their_land_class(small_county):
    path, _ = small_county
    p = _read(path, "parcels").to_crs(GK)
    lu = _read(path, "landuse").to_crs(GK)
    pts = shapely.point_on_surface(p.geometry.values)
    pi, li = lu.sindex.query(pts, predicate="within")
    assert len(set(pi)) == len(p)
    assert (p.land_class.to_numpy()[pi] == lu.dlbm.to_numpy()[li]).all()


def test_basic_farmland_is_most_of_the_paddy(small_county):
    path, _ = small_county
    lu = _read(path, "landuse").to_crs(GK)
    paddy = shapely.union_all(lu[lu.dlbm.str.startswith("0101")].geometry.values)
    bf = shapely.union_all(_read(path, "basic_farmland").to_crs(GK).geometry.values)
    assert 0.70 <= bf.area / paddy.area <= 0.85
    assert shapely.difference(bf, paddy.buffer(0.01)).area < 1.0  # basic farmland lies on paddy
    red = shapely.union_all(_read(path, "eco_redline").to_crs(GK).geometry.values)
    urban = shapely.union_all(_read(path, "urban_boundary").to_crs(GK).geometry.values)
    assert shapely.intersection(bf, red).area < 0.01 and shapely.intersection(bf, urban).area < 0.01


def _overlap(geom: Polygon, frame: gpd.GeoDataFrame, by: str) -> dict[str, float]:
    hits = frame.iloc[frame.sindex.query(geom, predicate="intersects")]
    out: dict[str, float] = {}
    for key, a in zip(hits[by], shapely.area(shapely.intersection(hits.geometry.values, geom)), strict=True):
        if a > 0.01:
            out[str(key)] = out.get(str(key), 0.0) + float(a)
    return out


def _check_anchors(gpkg: Path, anchors: dict) -> None:
    assert set(anchors) == ANCHORS
    box = shapely.box(*shapely.bounds(shapely.union_all([shape(a["geojson"]) for a in anchors.values()]))).buffer(0.02)
    L = {n: pyogrio.read_dataframe(gpkg, layer=n, bbox=box.bounds).to_crs(GK) for n in catalog()}
    for name, a in anchors.items():
        ring = Polygon(a["ring_gk"])
        ll = shape(a["geojson"])
        back = gpd.GeoSeries([ll], crs=4490).to_crs(GK).iloc[0]
        assert back.symmetric_difference(ring).area < 0.01, name  # the two rings are the same place
        assert ring.area == pytest.approx(a["area_m2"], abs=1e-3), name
        f = a["facts"]
        classes = _overlap(ring, L["landuse"], "dlbm")
        assert classes == pytest.approx(f["land_classes_m2"], rel=1e-6, abs=0.05), name
        assert sum(classes.values()) == pytest.approx(ring.area, rel=1e-5, abs=0.05), name  # land use covers it
        assert sum(_overlap(ring, L["basic_farmland"], "patch_no").values()) == pytest.approx(
            f["basic_farmland_m2"], rel=1e-6, abs=0.05
        )
        assert sum(_overlap(ring, L["eco_redline"], "name").values()) == pytest.approx(
            f["redline_m2"], rel=1e-6, abs=0.05
        )
        inside = sum(_overlap(ring, L["village_boundary"], "village").values())
        assert ring.area - inside == pytest.approx(f["outside_village_m2"], rel=1e-6, abs=0.05), name
        inside = sum(_overlap(ring, L["urban_boundary"], "name").values())
        assert ring.area - inside == pytest.approx(f["outside_urban_m2"], rel=1e-6, abs=0.05), name

    homes = L["parcels"][L["parcels"].right_type == "宅基地使用权"]
    clean = anchors["homestead_clean"]
    assert clean["facts"]["basic_farmland_m2"] == 0 and clean["facts"]["redline_m2"] == 0
    assert clean["facts"]["outside_village_m2"] == 0 and not any(
        c.startswith("01") for c in clean["facts"]["land_classes_m2"]
    )
    assert 140 <= clean["area_m2"] <= 160
    assert not (homes.household_id == clean["household_id"]).any()
    assert not homes.intersects(Polygon(clean["ring_gk"]).buffer(-0.01)).any()  # vacant land
    farm = anchors["homestead_on_farmland"]
    assert 170 <= farm["area_m2"] <= 190 and farm["facts"]["basic_farmland_m2"] == pytest.approx(42.0, abs=0.01)
    assert farm["facts"]["outside_village_m2"] > 0
    second = anchors["homestead_second_house"]
    held = homes[homes.household_id == second["household_id"]]
    assert len(held) == second["facts"]["household_homesteads"] == 1
    assert second["facts"]["basic_farmland_m2"] == 0 and second["facts"]["outside_village_m2"] == 0
    assert not homes.intersects(Polygon(second["ring_gk"]).buffer(-0.01)).any()

    req = anchors["requisition_50ha"]
    ring = Polygon(req["ring_gk"])
    f = req["facts"]
    assert 49e4 <= req["area_m2"] <= 51e4
    owners = _overlap(ring, L["parcels"][L["parcels"].owner_kind == "collective"], "owner")
    assert owners == pytest.approx(f["owners_m2"], rel=1e-6, abs=0.05) and len(owners) >= 2
    assert "0101" in f["land_classes_m2"] and len([c for c in f["land_classes_m2"] if c[:2] in ("01", "02")]) >= 2
    assert 0 < f["basic_farmland_m2"] < ring.area and 0 < f["outside_urban_m2"] < ring.area
    zones = _overlap(ring, L["land_price_zones"], "zone_no")
    assert zones == pytest.approx(f["price_zones_m2"], rel=1e-6, abs=0.05) and len(zones) >= 2
    assert f["redline_m2"] == 0

    m = L["mining_rights"]
    for name in ("mining_overlap", "mining_depth_disjoint"):
        a = anchors[name]
        ring = Polygon(a["ring_gk"])
        hits = m[m.intersects(ring) & (m.intersection(ring).area > 0.01)]
        assert list(hits.licence_no) == [a["licence_no"]], name
        right = hits.iloc[0]
        assert shapely.intersection(ring, right.geometry).area == pytest.approx(a["overlap_m2"], abs=0.05)
        assert (right.depth_top, right.depth_bottom) == (a["existing"]["depth_top"], a["existing"]["depth_bottom"])
        assert str(right.valid_from) <= ON.isoformat() <= str(right.valid_to)
        shared = min(a["depth_top"], right.depth_top) - max(a["depth_bottom"], right.depth_bottom)
        assert (shared > 0) == (name == "mining_overlap"), name
        assert a["facts"]["basic_farmland_m2"] == 0 and a["facts"]["redline_m2"] == 0
    red = anchors["redline"]
    assert red["facts"]["redline_m2"] == pytest.approx(red["area_m2"], abs=0.01)


def test_anchors_hold_on_the_generated_county(small_county):
    path, _ = small_county
    _check_anchors(path, json.loads(path.with_suffix(".json").read_text("utf-8")))


def test_committed_sample_is_small_and_its_anchors_hold():
    assert (SAMPLE / "county.gpkg").stat().st_size < 8 * 1024 * 1024
    _check_anchors(SAMPLE / "county.gpkg", json.loads((SAMPLE / "anchors.json").read_text("utf-8")))
    assert (
        4000
        <= len(
            pyogrio.read_dataframe(SAMPLE / "county.gpkg", layer="parcels", columns=["parcel_no"], read_geometry=False)
        )
        <= 6000
    )


def test_application_files_land_on_the_anchors():
    """The committed sample application files were written from anchors.json: they must still match it."""
    anchors = json.loads((SAMPLE / "anchors.json").read_text("utf-8"))
    txt = (SAMPLE / "applications" / "homestead_clean.txt").read_bytes().decode("gbk")
    pts = [tuple(map(float, ln.split(",")[2:4])) for ln in txt.splitlines() if re.match(r"J\d+,", ln)]
    ring = Polygon([(y, x) for x, y in pts])
    assert ring.symmetric_difference(Polygon(anchors["homestead_clean"]["ring_gk"])).area < 0.01
    mine = (SAMPLE / "applications" / "mining_overlap.txt").read_text("utf-8").split(",")
    assert float(mine[3]) == anchors["mining_overlap"]["ring_gk"][0][1]
