"""Boundary files: the malformed corpus, every sample, round trips, properties, and areas checked independently."""

import json
import re
import tomllib
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from gis.boundary import (
    BoundaryError,
    read_boundary,
    read_boundary_bytes,
    read_drawn,
    read_mining,
    read_txt,
    to_geojson,
    write_mining,
    write_txt,
)
from gis.crs import reproject
from service.cli import app

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad_boundaries"
APPS = ROOT / "sample_parcels" / "applications"
EXPECTED = tomllib.loads((BAD / "expected.toml").read_text("utf-8"))
HEAD = "[属性描述]\n格式版本号=1.01\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=38\n[地块坐标]\n"
SQUARE = ["J1,1,3306153.250,38523680.500", "J2,1,3306165.750,38523680.500", "J3,1,3306165.750,38523692.500",
          "J4,1,3306153.250,38523692.500", "J1,1,3306153.250,38523680.500"]  # fmt: skip


def independent_txt_areas(data: bytes, encoding: str) -> dict[str, float]:
    """Parse a TXT with nothing but regexes and shapely: parcel → area of outer rings minus holes (metres)."""
    areas: dict[str, float] = {}
    current, rings = None, {}
    for line in data.decode(encoding).replace("，", ",").splitlines():
        if line.rstrip().endswith("@"):
            current = line.split(",")[2]
            rings[current] = {}
        elif current and re.match(r"^J\d+,", line):
            _, ring, x, y = line.split(",")
            rings[current].setdefault(ring, []).append((float(y), float(x)))
    for no, rs in rings.items():
        polys = sorted((Polygon(r) for r in rs.values()), key=lambda p: -p.area)
        shell, rest = polys[0], polys[1:]
        area = shell.area
        for p in rest:
            area += -p.area if shell.contains(p) else p.area
        areas[no] = area
    return areas


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_gives_the_exact_error(name):
    expected = EXPECTED[name]
    with pytest.raises(BoundaryError) as info:
        read_boundary(BAD / name)
    errors = [i for i in info.value.issues if i.severity == "error"]
    assert errors, name
    assert errors[0].code == expected["code"], str(errors[0])
    if "line" in expected:
        assert errors[0].line == expected["line"], str(errors[0])
    assert errors[0].message_zh and errors[0].message_en
    assert str(errors[0])  # readable in both languages


def test_corpus_is_big_enough():
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize("name,encoding", [
    ("homestead_clean.txt", "gbk"), ("homestead_on_farmland_utf8.txt", "utf-8-sig"),
    ("requisition_two_parcels_hole.txt", "gbk"),
])  # fmt: skip
def test_txt_areas_match_an_independent_computation(name, encoding):
    data = (APPS / name).read_bytes()
    b = read_txt(data)
    expected = independent_txt_areas(data, encoding)
    assert {p.parcel_no: pytest.approx(p.area_m2, abs=0.01) for p in b.parcels} == expected


def test_gbk_file_names_decode():
    b = read_boundary(APPS / "homestead_clean.txt")
    assert b.header["_encoding"] == "gb18030"
    assert b.parcels[0].name == "张建华宅基地"
    assert b.header["数据产生单位"] == "咸安区自然资源和规划局"
    assert b.parcels[0].declared_area_ha == 0.015 and b.parcels[0].landuse_code == "0702"


def test_bom_and_full_width_punctuation():
    b = read_boundary(APPS / "homestead_on_farmland_utf8.txt")
    assert b.header["_encoding"] == "utf-8-sig"
    assert b.parcels[0].landuse_code == "0702" and b.parcels[0].use == "农村宅基地"
    assert b.parcels[0].area_m2 == pytest.approx(180.0, abs=0.01)


def test_no_prefix_takes_the_zone_from_the_header_or_the_caller():
    data = (APPS / "homestead_noprefix.txt").read_bytes()
    with_prefix = read_boundary(APPS / "homestead_clean.txt")
    b = read_txt(data)
    assert b.zone == 38 and b.source_crs == "EPSG:4526"
    assert b.parcels[0].area_m2 == pytest.approx(156.0, abs=0.01)
    no_zone = data.decode("gbk").replace("带号=38\r\n", "").encode("gbk")
    with pytest.raises(BoundaryError) as info:
        read_txt(no_zone)
    assert info.value.codes == ["zone_unknown"]
    assert read_txt(no_zone, zone=38).parcels[0].area_m2 == pytest.approx(156.0, abs=0.01)
    assert with_prefix.zone == 38


def test_hole_versus_separate_part_is_decided_by_geometry():
    b = read_boundary(APPS / "requisition_two_parcels_hole.txt")
    main, road = b.parcels
    assert len(main.geometry_gk.geoms) == 1 and len(main.geometry_gk.geoms[0].interiors) == 1
    assert main.area_m2 == pytest.approx(710 * 705 - 80 * 60, abs=0.01)
    assert road.area_m2 == pytest.approx(400 * 12, abs=0.01)
    # the same rings with the hole's 圈号 = 1 still make a hole: closure starts a new ring, geometry decides
    text = (APPS / "requisition_two_parcels_hole.txt").read_bytes().decode("gbk")
    same_label = re.sub(r"^(J\d+),2,", r"\1,1,", text, flags=re.M)
    assert read_txt(same_label.encode("gbk")).parcels[0].area_m2 == pytest.approx(main.area_m2, abs=0.01)
    # two disjoint rings of one parcel are two parts
    two = HEAD + "10,0.0300,P,两块,面,,,,@\n" + "\n".join(SQUARE) + "\n" + "\n".join(
        s.replace(",1,3306", ",2,3307") for s in SQUARE)  # fmt: skip
    parts = read_txt(two.encode()).parcels[0]
    assert len(parts.geometry_gk.geoms) == 2 and parts.area_m2 == pytest.approx(2 * 12.5 * 12, abs=0.01)


def test_island_inside_a_hole_is_a_part():
    outer = box(38523000, 3306000, 38523300, 3306300)
    hole = box(38523050, 3306050, 38523250, 3306250)
    island = box(38523100, 3306100, 38523200, 3306200)
    lines, n = [], 0
    for ring_no, poly in enumerate((outer, hole, island), start=1):
        coords = list(poly.exterior.coords)
        for x, y in coords:
            n += 1
            lines.append(f"J{n},{ring_no},{y:.3f},{x:.3f}")
    b = read_txt((HEAD + f"{n},10.0000,P,岛,面,,,,@\n" + "\n".join(lines)).encode())
    assert b.parcels[0].area_m2 == pytest.approx(300 * 300 - 200 * 200 + 100 * 100, abs=0.01)


def test_warnings_swapped_axes_duplicates_spikes_and_declared_figures():
    swapped = [re.sub(r",(\d+\.\d+),(\d+\.\d+)$", r",\2,\1", s) for s in SQUARE]
    b = read_txt((HEAD + "4,0.0150,P,x,面,,,,@\n" + "\n".join(swapped)).encode())
    codes = [w.code for w in b.all_warnings]
    assert "xy_swapped" in codes and b.parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)
    assert "point_count_mismatch" in codes  # 4 declared, 5 given
    dup = [SQUARE[0], SQUARE[1], SQUARE[1], *SQUARE[2:]]
    b = read_txt((HEAD + "6,0.0200,P,x,面,,,,@\n" + "\n".join(dup)).encode())
    assert [w.code for w in b.all_warnings] == ["duplicate_point", "area_mismatch"]
    assert [w.line for w in b.all_warnings] == [10, 7]
    spike = [SQUARE[0], SQUARE[1], "J9,1,3306185.750,38523680.500", SQUARE[1].replace("J2", "J10"), *SQUARE[2:]]
    b = read_txt((HEAD + "7,0.0150,P,x,面,,,,@\n" + "\n".join(spike)).encode())
    assert "spike" in [w.code for w in b.all_warnings]
    assert b.parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)


def test_lenient_header_keeps_unknown_sections_and_aliases():
    head = "[项目信息]\n项目名称=测试项目\n[属性描述]\n分带=3度带\n带号=38\n坐标系=2000国家大地坐标系\n自定义=保留\n[地块坐标]\n"
    b = read_txt((head + "5,0.0150,P,x,面,,,,@\n" + "\n".join(SQUARE)).encode())
    assert b.header["项目信息"] == {"项目名称": "测试项目"}
    assert b.header["几度分带"] == "3度带" and b.header["自定义"] == "保留"


def test_xian80_with_seven_parameters_is_converted():
    head = HEAD.replace("2000国家大地坐标系", "1980西安坐标系").replace("[地块坐标]", "转换参数=-10.5,120.2,55.1,0,0,0,0\n[地块坐标]")
    b = read_txt((head + "5,0.0150,P,x,面,,,,@\n" + "\n".join(SQUARE)).encode())
    assert "datum_converted" in [w.code for w in b.all_warnings]
    native = read_txt((HEAD + "5,0.0150,P,x,面,,,,@\n" + "\n".join(SQUARE)).encode())
    shift = b.parcels[0].geometry_gk.centroid.distance(native.parcels[0].geometry_gk.centroid)
    assert 5 < shift < 300  # a datum shift of metres to a few hundred metres, not a different place
    assert b.parcels[0].area_m2 == pytest.approx(150.0, rel=1e-3)


def test_txt_round_trip_to_the_millimetre():
    for name in ("homestead_clean.txt", "requisition_two_parcels_hole.txt", "homestead_noprefix.txt"):
        b = read_boundary(APPS / name)
        again = read_txt(write_txt(b))
        for p, q in zip(b.parcels, again.parcels, strict=True):
            assert p.parcel_no == q.parcel_no and p.name == q.name
            assert shapely.equals_exact(shapely.normalize(p.geometry_gk), shapely.normalize(q.geometry_gk), tolerance=0.001)
            assert q.area_m2 == pytest.approx(p.area_m2, abs=0.01)


def test_written_txt_follows_the_format():
    text = write_txt(read_boundary(APPS / "requisition_two_parcels_hole.txt"), encoding="utf-8").decode()
    lines = text.splitlines()
    assert lines[0] == "[属性描述]" and "[地块坐标]" in lines
    headers = [ln for ln in lines if ln.endswith(",@")]
    assert [h.split(",")[1] for h in headers] == ["49.5750", "0.4800"]
    body = lines[lines.index(headers[0]) + 1 : lines.index(headers[1])]
    assert int(headers[0].split(",")[0]) == len(body)
    ring1 = [ln for ln in body if ln.split(",")[1] == "1"]
    assert ring1[0].split(",")[0] == ring1[-1].split(",")[0] == "J1" and ring1[0] == ring1[-1]
    assert all(re.fullmatch(r"J\d+,\d+,\d{7}\.\d{3},38\d{6}\.\d{3}", ln) for ln in body)


def test_mining_projected_and_dms_round_trips():
    b = read_boundary(APPS / "mining_overlap.txt")
    p = b.parcels[0]
    assert (p.depth_top, p.depth_bottom) == (300.0, 100.0)
    assert p.area_m2 == pytest.approx(200000.0, abs=0.01)
    again = read_mining(write_mining(b).encode())
    assert shapely.equals_exact(shapely.normalize(again.parcels[0].geometry_gk), shapely.normalize(p.geometry_gk), tolerance=0.001)
    dms = read_mining(write_mining(b, dms=True).encode())
    assert dms.source_crs.startswith("EPSG:4490")
    assert shapely.hausdorff_distance(dms.parcels[0].geometry_gk, p.geometry_gk) < 0.005  # 0.0001″ ≈ 3 mm
    km2 = round(p.ellipsoidal_area_m2 / 1e6, 4)
    assert km2 == pytest.approx(0.2, abs=0.0002)


def test_mining_cut_out_ring_is_removed():
    s = ("2,4,1,3290700,38549550,2,3291100,38549550,3,3291100,38550050,4,3290700,38550050,300,100,矿,1,"
         "4,5,3290800,38549650,6,3290900,38549650,7,3290900,38549750,8,3290800,38549750,300,100,,-1")  # fmt: skip
    p = read_mining(s.encode()).parcels[0]
    assert p.area_m2 == pytest.approx(400 * 500 - 100 * 100, abs=0.01)
    written = write_mining(read_mining(s.encode()))
    assert written.startswith("2,") and written.endswith(",-1")


def test_vector_formats_and_drawn_polygons(tmp_path):
    gj = read_boundary(APPS / "requisition.geojson")
    assert [p.parcel_no for p in gj.parcels] == ["ZS-001", "ZS-002"]
    txt = read_boundary(APPS / "requisition_two_parcels_hole.txt")
    assert gj.parcels[0].area_m2 == pytest.approx(txt.parcels[0].area_m2, abs=0.01)
    shp = read_boundary(APPS / "homestead_redline_gbk_shp.zip")
    assert shp.parcels[0].name == "山边新建住房" and shp.parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)
    with zipfile.ZipFile(APPS / "homestead_redline_gbk_shp.zip") as zf:
        assert not any(n.endswith(".cpg") for n in zf.namelist())
    gpkg = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"name": ["地块"]}, geometry=[reproject(box(38523000, 3306000, 38523100, 3306100), 4526, 4490)], crs=4490).to_file(gpkg)
    assert read_boundary(gpkg).parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)
    kml = tmp_path / "b.kml"
    gpd.GeoDataFrame({"Name": ["kml"]}, geometry=[reproject(box(38523000, 3306000, 38523100, 3306050), 4526, 4490)], crs=4326).to_file(kml, driver="KML")
    assert read_boundary(kml).parcels[0].area_m2 == pytest.approx(5000.0, abs=0.05)
    drawn = read_drawn(json.dumps(to_geojson(txt)))
    assert drawn.source_format == "drawn" and drawn.parcels[1].area_m2 == pytest.approx(4800.0, abs=0.01)


def test_projected_shapefile_without_crs_is_recognised(tmp_path):
    shp = tmp_path / "p.shp"
    gpd.GeoDataFrame({"DKBH": ["A"]}, geometry=[box(38523000, 3306000, 38523100, 3306100)]).to_file(shp)
    b = read_boundary(shp)
    assert b.source_crs == "EPSG:4526" and "crs_guessed" in [w.code for w in b.warnings]
    assert b.parcels[0].area_m2 == pytest.approx(10000.0, abs=0.01)


square_sizes = st.tuples(st.floats(5, 800), st.floats(5, 800))
offsets = st.tuples(st.floats(38_512_000, 38_565_000), st.floats(3_285_000, 3_322_000))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin=offsets, size=square_sizes, n=st.integers(5, 40), seed=st.integers(0, 10_000))
def test_random_polygons_round_trip_through_txt(origin, size, n, seed):
    import random

    rnd = random.Random(seed)
    x0, y0 = origin
    # a random star-shaped polygon: always simple
    angles = sorted(rnd.uniform(0, 6.283) for _ in range(n))
    pts = [(round(x0 + size[0] * (0.5 + 0.5 * rnd.random()) * __import__("math").cos(a), 3),
            round(y0 + size[1] * (0.5 + 0.5 * rnd.random()) * __import__("math").sin(a), 3)) for a in angles]  # fmt: skip
    poly = Polygon(pts)
    if not poly.is_valid or poly.area < 1 or len(set(pts)) < 3:
        return
    lines = [f"J{i + 1},1,{y:.3f},{x:.3f}" for i, (x, y) in enumerate(pts)] + [f"J1,1,{pts[0][1]:.3f},{pts[0][0]:.3f}"]
    try:
        b = read_txt((HEAD + f"{len(lines)},,R,随机,面,,,,@\n" + "\n".join(lines)).encode())
    except BoundaryError as exc:
        assert exc.codes and set(exc.codes) <= {"sliver"}  # very thin random stars are refused, cleanly
        return
    again = read_txt(write_txt(b))
    assert shapely.equals_exact(shapely.normalize(again.parcels[0].geometry_gk), shapely.normalize(b.parcels[0].geometry_gk), tolerance=0.001)
    assert b.parcels[0].area_m2 == pytest.approx(poly.area, abs=0.01)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), name=st.sampled_from(["a.txt", "b.geojson", "c.zip", "d", "e.kml", "f.gpkg"]))
def test_random_bytes_give_a_clean_error(data, name):
    try:
        read_boundary_bytes(data, name)
    except BoundaryError as exc:
        assert exc.issues and all(i.message_zh and i.message_en for i in exc.issues)


@settings(max_examples=100, deadline=None)
@given(noise=st.lists(st.sampled_from(list(",@.[]=\n J1-X9０，") + ["3306153.250", "38523680.500", "[地块坐标]"]), max_size=80))
def test_mangled_txt_gives_a_clean_error(noise):
    try:
        read_txt((HEAD + "".join(noise)).encode())
    except BoundaryError as exc:
        assert exc.issues


runner = CliRunner()


def test_cli_boundary_prints_geojson_and_converts():
    r = runner.invoke(app, ["boundary", str(APPS / "homestead_clean.txt")])
    assert r.exit_code == 0, r.output
    fc = json.loads(r.stdout)
    props = fc["features"][0]["properties"]
    assert props["parcel_no"] == "ZJ-001" and props["area_m2"] == 150.0 and props["zone"] == 38
    assert props["area_mu"] == pytest.approx(0.225, abs=1e-4) and props["source_crs"] == "EPSG:4526"
    r = runner.invoke(app, ["boundary", str(APPS / "mining_overlap.txt"), "--to", "txt"])
    assert r.exit_code == 0 and "[地块坐标]" in r.stdout
    r = runner.invoke(app, ["boundary", str(APPS / "homestead_clean.txt"), "--to", "mining"])
    assert r.exit_code == 0 and r.stdout.startswith("1,4,")


def test_cli_boundary_errors_exit_2():
    r = runner.invoke(app, ["boundary", str(BAD / "08_not_closed.txt")])
    assert r.exit_code == 2
    assert "第11行 line 11" in r.output and "not closed" in r.output
