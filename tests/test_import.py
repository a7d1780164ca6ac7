import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from gis.catalog import layer
from gis.crs import transformer
from gis.importer import LayerImportError, layer_versions, load, read

# Zone 38 (EPSG:4526, zone-prefixed easting), around Xian'an.
X0, Y0 = 38530000.0, 3303000.0


def _parcels(n: int = 50) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    geoms = []
    for i in range(n):
        x, y = X0 + (i % 10) * 60, Y0 + (i // 10) * 60
        w, h = rng.uniform(20, 50), rng.uniform(20, 50)
        # an irregular quadrilateral with a notch so areas are not trivially round numbers
        geoms.append(
            Polygon([(x, y), (x + w, y + 1.3), (x + w - 2.7, y + h), (x + w / 2, y + h - 4.1), (x + 0.4, y + h)])
        )
    return gpd.GeoDataFrame(
        {
            "ZDDM": [f"421202003004JC{i:05d}" for i in range(n)],
            "QLR": [f"村民{i}号" for i in range(n)],
            "HH": [f"HH{i:04d}" for i in range(n)],
            "DLBM": ["0702"] * n,
            "remark": [f"备注{i}" for i in range(n)],
        },
        geometry=geoms,
        crs=4526,
    )


def _gk_areas(conn, table="parcels"):
    rows = conn.execute(f"SELECT parcel_no, ST_AsBinary(geom) FROM {table} ORDER BY id").fetchall()
    t = transformer(4490, 4526)
    out = {}
    for no, wkb in rows:
        g = shapely.from_wkb(bytes(wkb))
        g = shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        out[no] = g.area
    return out


def test_geopackage_round_trip_counts_attributes_and_areas(tmp_path, conn):
    src = _parcels()
    path = tmp_path / "parcels.gpkg"
    src.to_file(path, layer="parcels")
    result = load(conn, read(path, "parcels"))
    assert result.version == 1 and result.feature_count == 50 and result.loaded == 50
    assert result.mapping == {"parcel_no": "ZDDM", "owner": "QLR", "household_id": "HH", "land_class": "DLBM"}
    row = conn.execute(
        "SELECT parcel_no, owner, household_id, land_class, props->>'remark', ST_SRID(geom), GeometryType(geom) "
        "FROM parcels WHERE parcel_no = '421202003004JC00007'"
    ).fetchone()
    assert row == ("421202003004JC00007", "村民7号", "HH0007", "0702", "备注7", 4490, "MULTIPOLYGON")
    stored = _gk_areas(conn)
    for no, geom in zip(src["ZDDM"], src.geometry, strict=True):
        assert stored[no] == pytest.approx(geom.area, abs=0.01)


def test_gbk_zipped_shapefile_without_cpg(tmp_path, conn):
    src = _parcels(5)
    shp = tmp_path / "zd.shp"
    src.to_file(shp, encoding="GBK")
    (tmp_path / "zd.cpg").unlink(missing_ok=True)
    z = tmp_path / "zd.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj"):
            zf.write(tmp_path / f"zd.{ext}", f"zd.{ext}")
    assert b"\xb4\xe5" in (tmp_path / "zd.dbf").read_bytes()  # 村 in GBK: really GBK on disk
    load(conn, read(z, "parcels"))
    owners = [r[0] for r in conn.execute("SELECT owner FROM parcels ORDER BY id")]
    assert owners == [f"村民{i}号" for i in range(5)]
    assert conn.execute("SELECT props->>'remark' FROM parcels ORDER BY id LIMIT 1").fetchone()[0] == "备注0"


def test_failed_import_leaves_the_previous_version(tmp_path, conn, monkeypatch):
    good = tmp_path / "good.gpkg"
    _parcels(20).to_file(good, layer="parcels")
    load(conn, read(good, "parcels"))
    before = conn.execute("SELECT array_agg(parcel_no ORDER BY id) FROM parcels").fetchone()[0]

    # The database refuses a value half-way through the COPY stream (text may not hold NUL): several batches
    # have already gone in when it fails.
    import gis.importer

    monkeypatch.setattr(gis.importer, "BATCH_ROWS", 4)
    bad = _parcels(20)
    bad.loc[13, "ZDDM"] = "421202\x00bad"
    bad_path = tmp_path / "bad.gpkg"
    bad.to_file(bad_path, layer="parcels")
    src = gis.importer.from_frame(bad, layer("parcels"), "test")
    with pytest.raises(psycopg.Error):
        load(conn, src, replace=True)
    conn.rollback()
    assert conn.execute("SELECT array_agg(parcel_no ORDER BY id) FROM parcels").fetchone()[0] == before
    assert layer_versions(conn)["parcels"] == {"version": 1, "count": 20}
    assert conn.execute("SELECT count(*) FROM layer_loads").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_parcels_geom'").fetchone()[0] == 1


def test_bad_attribute_values_refuse_the_whole_import(tmp_path, conn):
    gdf = gpd.GeoDataFrame(
        {"licence_no": ["C1", "C2"], "depth_top": ["320", "高"], "depth_bottom": [150.0, 100.0]},
        geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
        crs=4526,
    )
    path = tmp_path / "m.geojson"
    gdf.to_file(path)
    with pytest.raises(LayerImportError, match=r"feature 1 字段 field depth_top: '高'"):
        load(conn, read(path, "mining_rights"))
    assert layer_versions(conn)["mining_rights"] == {"version": 0, "count": 0}


def test_invalid_geometries_repaired_or_rejected_with_ids(tmp_path, conn):
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)])
    gdf = gpd.GeoDataFrame(
        {"name": ["ok", "bowtie", "line-like"]},
        geometry=[box(X0, Y0, X0 + 50, Y0 + 50), bowtie, Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)])],
        crs=4526,
    )
    path = tmp_path / "r.gpkg"
    gdf.to_file(path, layer="eco_redline")
    result = load(conn, read(path, "eco_redline"))
    assert [fid for fid, _ in result.repaired] == ["2"]
    assert "Self-intersection" in result.repaired[0][1]
    assert [fid for fid, _ in result.rejected] == ["3"]
    assert result.feature_count == 2
    assert conn.execute("SELECT bool_and(ST_IsValid(geom)) FROM eco_redline").fetchone()[0] is True
    # the bowtie's two triangles keep their full area (5000 m²) after repair
    area = conn.execute("SELECT ST_Area(ST_Transform(geom, 4526)) FROM eco_redline WHERE name = 'bowtie'").fetchone()[0]
    assert area == pytest.approx(5000, abs=0.01)
    with pytest.raises(LayerImportError, match="1 个要素被拒绝"):
        load(conn, read(path, "eco_redline"), max_rejected=0)


def test_subdivided_side_table_covers_the_layer(tmp_path, conn):
    ring = [(X0 + 3000 * np.cos(a), Y0 + 3000 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 2000, endpoint=False)]
    gdf = gpd.GeoDataFrame({"name": ["大幕山"]}, geometry=[MultiPolygon([Polygon(ring)])], crs=4526)
    path = tmp_path / "red.gpkg"
    gdf.to_file(path, layer="eco_redline")
    load(conn, read(path, "eco_redline"))
    n, max_pts, area_sub, area = conn.execute(
        "SELECT count(*), max(ST_NPoints(s.geom)), sum(ST_Area(ST_Transform(s.geom, 4526))), "
        "(SELECT ST_Area(ST_Transform(geom, 4526)) FROM eco_redline) FROM eco_redline_sub s"
    ).fetchone()
    assert n > 8 and max_pts <= 256
    # pieces are densified, so measured in the GK zone they still add up to the whole
    assert area_sub == pytest.approx(area, abs=0.01)


def test_append_and_replace_bump_versions(tmp_path, conn):
    path = tmp_path / "p.gpkg"
    _parcels(10).to_file(path, layer="parcels")
    assert load(conn, read(path, "parcels")).version == 1
    r = load(conn, read(path, "parcels"), replace=False)
    assert (r.version, r.feature_count) == (2, 20)
    r = load(conn, read(path, "parcels"), replace=True)
    assert (r.version, r.feature_count) == (3, 10)
    assert [row[0] for row in conn.execute("SELECT version FROM layer_loads ORDER BY id")] == [1, 2, 3]


def test_crs_option_for_a_file_without_one(tmp_path, conn):
    gdf = _parcels(3).set_crs(None, allow_override=True)
    path = tmp_path / "nocrs.geojson"
    gdf.to_file(path)
    # GeoJSON without a crs member is read as lon/lat by GDAL, so make a truly CRS-less format:
    shp = tmp_path / "nocrs.shp"
    gdf.to_file(shp)
    (tmp_path / "nocrs.prj").unlink(missing_ok=True)
    with pytest.raises(LayerImportError, match="--crs"):
        read(shp, "parcels")
    load(conn, read(shp, "parcels", crs=4526))
    lon, lat = conn.execute("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM parcels LIMIT 1").fetchone()
    assert 114.2 < lon < 114.4 and 29.8 < lat < 29.9


def test_unknown_layer_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown layer 'roads'"):
        read(tmp_path / "x.gpkg", "roads")
    with pytest.raises(LayerImportError, match="file not found"):
        read(tmp_path / "missing.gpkg", "parcels")


def test_subdivided_pieces_that_self_intersect_after_projecting_back_are_repaired(conn, staff):
    """A red line of the 1M county whose GK pieces self-intersected in lon/lat made every check near it fail."""
    import json

    from shapely.geometry import MultiPolygon, shape

    from gis.check.engine import CheckRequest, run_check

    data = Path(__file__).parent / "data"
    load(conn, read(data / "redline_subdivided_invalid.geojson", "eco_redline"))
    conn.commit()
    pieces, invalid, area_gap = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT ST_IsValid(s.geom)), "
        "abs(sum(ST_Area(ST_Transform(s.geom, 4526))) - (SELECT ST_Area(ST_Transform(geom, 4526)) FROM eco_redline)) "
        "FROM eco_redline_sub s"
    ).fetchone()
    assert pieces > 10 and invalid == 0
    # each repaired piece covers the same ground as before (symmetric difference empty); a self-intersecting ring's
    # shoelace area is not the area it covers, so the repaired pieces sum ~3 m² below the whole of 139 km² (2e-8)
    assert area_gap < 5.0
    for plot in json.loads((data / "redline_subdivided_invalid_cases.json").read_text()):
        report = run_check(
            conn, CheckRequest(province="湖北", kind="homestead", geometry=MultiPolygon(list(shape(plot).geoms)))
        )
        assert report.rule("HS-RED").status in ("pass", "block")
