"""GeoJSON, zipped Shapefile, GeoPackage, KML and drawn polygons; CRS detection; areas checked with pyproj directly."""

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, shape

from gis.boundary import BoundaryError, read_boundary, read_boundary_bytes, read_drawn, read_txt, to_geojson, write_txt

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
LL_TO_GK = Transformer.from_crs(4490, 4526, always_xy=True)
GK_TO_LL = Transformer.from_crs(4526, 4490, always_xy=True)


def transform(t: Transformer, geom):
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def gk_area(geom_lonlat) -> float:
    """Independent planar area: pyproj into EPSG:4526, shapely area."""
    return transform(LL_TO_GK, geom_lonlat).area


def lonlat_box(e0, n0, e1, n1):
    return transform(GK_TO_LL, box(e0, n0, e1, n1))


def test_geojson_areas_match_an_independent_computation():
    b = read_boundary(DATA / "requisition.geojson")
    assert b.source_format == "geojson" and b.zone == 38 and b.source_crs in ("EPSG:4326", "EPSG:4490")
    features = json.loads((DATA / "requisition.geojson").read_text("utf-8"))["features"]
    assert [p.parcel_no for p in b.parcels] == ["GJ-001", "GJ-002"]
    assert [p.landuse_code for p in b.parcels] == ["0601", "1003"]
    for p, f in zip(b.parcels, features, strict=True):
        assert p.area_m2 == pytest.approx(gk_area(shape(f["geometry"])), abs=0.01)
    # the same factory as the TXT sample without its annex
    txt = read_boundary(DATA / "requisition_multi_hole_gbk.txt").parcels[0]
    assert b.parcels[0].area_m2 == pytest.approx(txt.area_m2 - 60 * 90, abs=0.01)


def test_zipped_shapefile_with_gbk_attributes_and_no_cpg():
    with zipfile.ZipFile(DATA / "homestead_gbk_nocpg_shp.zip") as zf:
        names = zf.namelist()
        assert not any(n.endswith(".cpg") for n in names)
        assert "山边".encode("gbk") in zf.read("zongdi.dbf")
    b = read_boundary(DATA / "homestead_gbk_nocpg_shp.zip")
    assert b.source_format == "shapefile" and b.source_crs == "EPSG:4526" and b.zone == 38
    assert [(p.parcel_no, p.name, p.landuse_code) for p in b.parcels] == [
        ("ZJ-2026-052", "山边新建住房", "0702"),
        ("ZJ-2026-053", "刘家湾宅基地", "0702"),
    ]
    assert [p.area_m2 for p in b.parcels] == pytest.approx([150.0, 140.0], abs=0.01)
    up = read_boundary_bytes((DATA / "homestead_gbk_nocpg_shp.zip").read_bytes(), "upload.zip")
    assert [p.name for p in up.parcels] == ["山边新建住房", "刘家湾宅基地"]


def test_geopackage_in_a_projected_zone(tmp_path):
    gpkg = tmp_path / "b.gpkg"
    gpd.GeoDataFrame(
        {"dkbh": ["G-1"], "dkmc": ["地块"]}, geometry=[box(38523000, 3306000, 38523100, 3306080)], crs=4526
    ).to_file(gpkg)
    b = read_boundary(gpkg)
    assert b.source_format == "gpkg" and b.source_crs == "EPSG:4526" and b.zone == 38
    assert (b.parcels[0].parcel_no, b.parcels[0].name) == ("G-1", "地块")
    assert b.parcels[0].area_m2 == pytest.approx(8000.0, abs=0.01)
    assert read_boundary_bytes(gpkg.read_bytes(), "upload.gpkg").parcels[0].area_m2 == pytest.approx(8000.0, abs=0.01)


def test_unprefixed_gk_zone_crs_is_recognised(tmp_path):
    gpkg = tmp_path / "np.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(523000, 3306000, 523100, 3306100)], crs=4547).to_file(gpkg)
    b = read_boundary(gpkg)
    assert b.source_crs == "EPSG:4547" and b.zone == 38 and b.parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)
    assert b.warnings == []


def test_kml(tmp_path):
    kml = tmp_path / "b.kml"
    geom = lonlat_box(38523000, 3306000, 38523100, 3306050)
    gpd.GeoDataFrame({"Name": ["kml地块"]}, geometry=[geom], crs=4326).to_file(kml, driver="KML")
    b = read_boundary(kml)
    assert b.source_format == "kml" and b.parcels[0].name == "kml地块"
    assert b.parcels[0].area_m2 == pytest.approx(gk_area(geom), abs=0.05)  # KML stores 15 significant digits


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_shapefile_without_crs_infers_the_zone_from_the_prefix(tmp_path):
    shp = tmp_path / "p.shp"
    gpd.GeoDataFrame({"DKBH": ["A"]}, geometry=[box(38523000, 3306000, 38523100, 3306100)]).to_file(shp)
    b = read_boundary(shp)
    assert b.source_crs == "EPSG:4526" and b.zone == 38 and [w.code for w in b.warnings] == ["crs_guessed"]
    assert b.parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_unprefixed_coordinates_without_crs_need_the_zone(tmp_path):
    shp = tmp_path / "np.shp"
    gpd.GeoDataFrame({"DKBH": ["A"]}, geometry=[box(523000, 3306000, 523100, 3306100)]).to_file(shp)
    with pytest.raises(BoundaryError) as info:
        read_boundary(shp)
    assert info.value.codes == ["no_crs"]
    b = read_boundary(shp, zone=38)
    assert b.source_crs == "EPSG:4547" and b.parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)


def test_invalid_geometry_is_refused_not_repaired():
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[114.30, 29.80], [114.31, 29.81], [114.31, 29.80], [114.30, 29.81], [114.30, 29.80]]],
    }
    with pytest.raises(BoundaryError) as info:
        read_drawn(bowtie)
    assert info.value.codes == ["self_intersection"] and "114.305 29.805" in info.value.issues[0].message_en


@pytest.mark.parametrize("wrap", ["geometry", "feature", "collection", "string"])
def test_drawn_polygon_in_every_geojson_shape(wrap):
    geom = lonlat_box(38530000, 3300000, 38530040, 3300025)
    g = shapely.geometry.mapping(geom)
    obj = {
        "geometry": g,
        "feature": {"type": "Feature", "properties": {"name": "画的"}, "geometry": g},
        "collection": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": None, "geometry": g}],
        },
        "string": json.dumps(g),
    }[wrap]
    b = read_drawn(obj)
    assert b.source_format == "drawn" and b.source_crs == "EPSG:4490" and b.zone == 38
    assert b.parcels[0].area_m2 == pytest.approx(gk_area(geom), abs=0.01)
    assert b.parcels[0].area_m2 == pytest.approx(1000.0, abs=0.01)


def test_to_geojson_round_trips_through_the_drawn_reader():
    txt = read_boundary(DATA / "requisition_multi_hole_gbk.txt")
    fc = to_geojson(txt)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 3
    props = fc["features"][0]["properties"]
    assert {
        "parcel_no",
        "name",
        "area_m2",
        "area_mu",
        "area_ha",
        "declared_area_ha",
        "zone",
        "source_crs",
        "warnings",
    } <= set(props)
    assert props["source_crs"] == "EPSG:4526" and props["zone"] == 38 and props["declared_area_ha"] == 51.4329
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 113.9 < lon < 114.9 and 29.5 < lat < 30.2  # RFC 7946: longitude first
    again = read_drawn(json.loads(json.dumps(fc)))
    for p, q in zip(txt.parcels, again.parcels, strict=True):
        assert q.parcel_no == p.parcel_no and q.name == p.name
        assert q.area_m2 == pytest.approx(p.area_m2, abs=0.01)
        assert shapely.hausdorff_distance(q.geometry_gk, p.geometry_gk) < 0.001
    # and on to TXT: a drawn boundary written as TXT reads back to the millimetre
    back = read_txt(write_txt(again))
    assert shapely.hausdorff_distance(back.parcels[0].geometry_gk, again.parcels[0].geometry_gk) < 0.001


def test_warnings_reach_the_geojson_as_strings():
    swapped = "[属性描述]\n带号=38\n[地块坐标]\n5,0.0150,P,x,面,,,,@\n" + "\n".join(
        f"J{i},1,{e},{n}"
        for i, (n, e) in enumerate(
            [
                ("3306153.250", "38523680.500"),
                ("3306165.750", "38523680.500"),
                ("3306165.750", "38523692.500"),
                ("3306153.250", "38523692.500"),
                ("3306153.250", "38523680.500"),
            ],
            1,
        )
    )
    fc = to_geojson(read_txt(swapped.encode()))
    assert fc["features"][0]["properties"]["warnings"][0].startswith("line 5: X、Y 坐标疑似颠倒")
