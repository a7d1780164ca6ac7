"""The import dry run: what a load would do — mapping, CRS, counts, repairs, 三调 quirks — found without writing."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from gis.catalog import catalog
from gis.importer import LayerImportError, plan_import
from gis.landuse import normalize_code

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "sample_parcels" / "county.gpkg"
X0, Y0 = 38530000.0, 3303000.0  # zone 38 (EPSG:4526), in Xian'an


@pytest.mark.parametrize("name", list(catalog()))
def test_dry_run_of_every_sample_county_layer(name):
    info = pyogrio.read_info(COUNTY, layer=name)
    plan = plan_import(COUNTY, name)
    assert (plan.layer, plan.source_layer, plan.driver) == (name, name, "GPKG")
    assert plan.source_crs.startswith("EPSG:4490 ") and plan.reprojected is False
    assert plan.features == plan.would_load == info["features"]
    assert plan.repaired == [] and plan.rejected == [] and plan.attribute_errors == [] and not plan.refused
    assert plan.fields == {f: f for f in info["fields"]}  # the sample county uses the catalog's own names
    assert plan.columns_without_source == []
    assert sum(plan.geometry_types.values()) == info["features"] and set(plan.geometry_types) == {"MultiPolygon"}
    assert plan.outside_county == []
    assert "未写入任何数据 / nothing was written" in plan.lines()
    assert json.loads(json.dumps(plan.to_dict(), ensure_ascii=False))["features"] == info["features"]


def test_dry_run_counts_the_sample_county_working_suffixes_as_an_independent_reading_does():
    codes = pyogrio.read_dataframe(COUNTY, layer="landuse", read_geometry=False)["dlbm"]
    suffixed = codes[codes.str.len() > 4].value_counts().to_dict()
    assert suffixed and all(normalize_code(c) == c[:4] for c in suffixed)
    plan = plan_import(COUNTY, "landuse")
    assert plan.code_column == "dlbm" and plan.suffixed_codes == suffixed and plan.unknown_codes == {}
    parts = pyogrio.read_dataframe(COUNTY, layer="landuse").geometry
    assert plan.multi_part == int((shapely.get_num_geometries(parts.values) > 1).sum())
    assert plan.max_vertices == int(shapely.get_num_coordinates(parts.values).max())
    lon0, lat0, lon1, lat1 = parts.total_bounds
    assert plan.extent == pytest.approx((lon0, lat0, lon1, lat1), abs=1e-9)
    line = next(s for s in plan.lines() if s.startswith("地类编码"))
    assert f"with working suffixes {sum(suffixed.values())}" in line and "0301K ×" in line


def circle(cx: float, cy: float, r: float, n: int) -> Polygon:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return Polygon(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))


def sandiao_dltb() -> gpd.GeoDataFrame:
    """A 三调 地类图斑 layer as the survey database holds it: upper-case fields, suffixed DLBM, GK zone 38."""
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)])
    two_parts = MultiPolygon([box(X0 + 200, Y0, X0 + 260, Y0 + 60), box(X0 + 300, Y0, X0 + 340, Y0 + 40)])
    forest = circle(X0 + 3000, Y0 + 3000, 1500, 12000)  # a hill forest patch traced to 12 000 vertices
    far = box(X0, Y0 + 400_000, X0 + 50, Y0 + 400_050)  # 400 km north: a typo or the wrong CRS
    return gpd.GeoDataFrame(
        {
            "DLBM": ["0101", "0301K", "1104A", "9999", "0103", None],
            "DLMC": ["水田", "乔木林地", "养殖坑塘", "?", "旱地", "水田"],
            "TBBH": ["1", "2", "3", "4", "5", "6"],
            "ZLDWMC": ["贺胜村", "贺胜村", "桂花村", "桂花村", "桂花村", "桂花村"],
            "TBMJ": [5000.0, 6000.0, 70_000_000.0, 2500.0, 2500.0, 0.0],
        },
        geometry=[bowtie, two_parts, forest, far, box(X0 + 500, Y0, X0 + 550, Y0 + 50), None],
        crs=4526,
    )


def test_dry_run_of_a_sandiao_filegdb_with_suffixes_an_invalid_patch_and_huge_patches(tmp_path):
    gdb = tmp_path / "421202三调.gdb"
    gdf = sandiao_dltb()
    gdf.iloc[:1].to_file(gdb, layer="XZQ", driver="OpenFileGDB", promote_to_multi=True)  # other layers come first
    gdf.to_file(gdb, layer="DLTB", driver="OpenFileGDB", promote_to_multi=True)
    plan = plan_import(gdb, "landuse")
    assert (plan.driver, plan.source_layer) == ("OpenFileGDB", "DLTB")  # found by the catalog's source_layers
    assert plan.source_crs.startswith("EPSG:4526 ") and "zone 38" in plan.source_crs and plan.reprojected
    assert plan.fields == {"DLBM": "dlbm", "DLMC": "props", "TBBH": "patch_no", "ZLDWMC": "village", "TBMJ": "props"}
    assert plan.columns_without_source == ["township"]
    # FileGDB feature ids start at 1: the bowtie is 1, the empty geometry 6
    assert [fid for fid, _ in plan.repaired] == ["1"] and "Self-intersection" in plan.repaired[0][1]
    assert plan.rejected == [("6", "没有几何 / no geometry")]
    assert (plan.features, plan.would_load) == (6, 5)
    assert plan.multi_part == 1
    assert (
        plan.huge == [("3", int(shapely.get_num_coordinates(gdf.geometry[2])))] and plan.huge[0][1] > plan.huge_vertices
    )
    assert plan.suffixed_codes == {"0301K": 1, "1104A": 1} and plan.unknown_codes == {"9999": 1}
    assert plan.outside_county == ["4"]
    assert plan.attribute_errors == [] and not plan.refused
    text = "\n".join(plan.lines())
    assert "DLBM → dlbm" in text and "DLMC → props" in text and "feature 1: Self-intersection" in text
    assert "huge patches (> 10000 vertices): 1: 3 (12001)" in text and "9999 ×1" in text
    assert "outside the county: 1" in text and "the import would go ahead" in text


def test_dry_run_reports_values_a_load_would_refuse(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"licence_no": ["C1", "C2"], "depth_top": ["320", "高"], "depth_bottom": [150.0, 100.0]},
        geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
        crs=4526,
    )
    path = tmp_path / "m.geojson"
    gdf.to_file(path)
    plan = plan_import(path, "mining_rights")
    assert plan.refused and len(plan.attribute_errors) == 1
    assert "feature 1 字段 field depth_top: '高'" in plan.attribute_errors[0]
    assert "导入将被拒绝 / the import would be refused" in plan.lines()
    assert plan.to_dict()["refused"] is True


def test_a_multi_layer_source_without_the_layer_names_what_it_holds(tmp_path):
    path = tmp_path / "many.gpkg"
    sandiao_dltb().iloc[:1].to_file(path, layer="XZQ")
    sandiao_dltb().iloc[:1].to_file(path, layer="CJDCQ")
    with pytest.raises(LayerImportError, match="none is named landuse/dltb/地类图斑: XZQ, CJDCQ"):
        plan_import(path, "landuse")


def test_the_dry_run_agrees_with_the_load_and_writes_nothing(tmp_path, conn):
    from gis.importer import layer_versions, load, read

    gdb = tmp_path / "sandiao.gdb"
    sandiao_dltb().to_file(gdb, layer="DLTB", driver="OpenFileGDB", promote_to_multi=True)
    plan = plan_import(gdb, "landuse")
    assert layer_versions(conn)["landuse"] == {"version": 0, "count": 0}
    assert conn.execute("SELECT count(*) FROM layer_loads").fetchone()[0] == 0
    result = load(conn, read(gdb, "landuse"))
    assert (result.loaded, result.repaired, result.rejected) == (plan.would_load, plan.repaired, plan.rejected)
    assert {v: k for k, v in result.mapping.items()} == {f: c for f, c in plan.fields.items() if c != "props"}
    # FileGDB's OBJECTID is the feature id kept, suffixed codes are stored as written, unmapped fields go to props
    rows = conn.execute("SELECT src_fid, dlbm, props->>'DLMC', props->>'TBMJ' FROM landuse ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r[1] for r in rows] == ["0101", "0301K", "1104A", "9999", "0103"]
    assert rows[1][2:] == ("乔木林地", "6000.0")
