"""界址点坐标交换格式 TXT: encodings, lenient header, rings, holes and parts, warnings, datums, and the writer."""

import re
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Polygon, box

from gis.boundary import BoundaryError, CountyExtent, read_boundary, read_boundary_bytes, read_txt, write_txt
from gis.crs import SQM_PER_MU

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
HEAD = "[属性描述]\n格式版本号=1.01\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=38\n[地块坐标]\n"
SQUARE = [
    "J1,1,3306153.250,38523680.500",
    "J2,1,3306165.750,38523680.500",
    "J3,1,3306165.750,38523692.500",
    "J4,1,3306153.250,38523692.500",
    "J1,1,3306153.250,38523680.500",
]


def one_parcel(points: list[str], header: str = "5,0.0150,P,x,面,,,,@", head: str = HEAD) -> bytes:
    return (head + header + "\n" + "\n".join(points)).encode()


def independent_txt_areas(data: bytes, encoding: str) -> dict[str, float]:
    """Parse a TXT with nothing but regexes and shapely: parcel → Σ rings by containment parity (metres)."""
    areas: dict[str, float] = {}
    current, rings = None, {}
    text = data.decode(encoding)
    text = text.translate(str.maketrans("，．０１２３４５６７８９", ",.0123456789"))
    for line in text.splitlines():
        if line.rstrip().endswith("@"):
            current = line.split(",")[2]
            rings[current] = {}
        elif current and re.match(r"^J\d+,", line):
            _, ring, x, y = line.split(",")
            rings[current].setdefault(ring, []).append((float(y) % 1_000_000 + 38_000_000, float(x)))
    for no, rs in rings.items():
        polys = [Polygon(r) for r in rs.values()]
        areas[no] = sum(p.area * (-1) ** sum(q.contains(p) for q in polys if q is not p) for p in polys)
    return areas


@pytest.mark.parametrize(
    "name,encoding",
    [
        ("requisition_multi_hole_gbk.txt", "gbk"),
        ("homestead_bom_utf8.txt", "utf-8-sig"),
        ("homestead_noprefix_gbk.txt", "gbk"),
    ],
)
def test_areas_match_an_independent_computation(name, encoding):
    data = (DATA / name).read_bytes()
    b = read_txt(data)
    expected = independent_txt_areas(data, encoding)
    assert {p.parcel_no: p.area_m2 for p in b.parcels} == pytest.approx(expected, abs=0.01)
    for p in b.parcels:
        assert p.area_ha == pytest.approx(p.area_m2 / 10_000)
        assert p.area_mu == pytest.approx(p.area_m2 / SQM_PER_MU)
        assert p.area_mu * SQM_PER_MU == pytest.approx(p.area_m2)
        assert p.geometry_gk.area == pytest.approx(p.area_m2)
        assert p.ellipsoidal_area_m2 == pytest.approx(p.area_m2, rel=2e-3)  # GK scale near the CM is ~1


def test_gbk_multi_parcel_file_with_hole_part_and_project_section():
    b = read_boundary(DATA / "requisition_multi_hole_gbk.txt")
    assert b.source_format == "txt" and b.source_crs == "EPSG:4526" and b.zone == 38
    assert b.header["_encoding"] == "gb18030" and b.header["几度分带"] == "3度带"
    assert b.header["项目信息"]["项目名称"] == "咸安经济开发区标准厂房二期"
    factory, road, green = b.parcels
    assert (factory.parcel_no, factory.name, factory.use, factory.landuse_code) == (
        "XA-2026-017-1",
        "标准厂房二期",
        "工业用地",
        "0601",
    )
    assert factory.declared_area_ha == 51.4329 and factory.declared_points == 17
    assert len(factory.geometry.geoms) == 2  # the factory with its pond as a hole, and the annex as a second part
    big = max(factory.geometry_gk.geoms, key=lambda g: g.area)
    assert len(big.interiors) == 1 and big.interiors[0].length == pytest.approx(280.0)
    assert road.area_m2 == pytest.approx(4800.0, abs=0.01)
    assert green.declared_points == 5  # distinct corners counted: accepted without a warning
    assert b.all_warnings == []
    for p in b.parcels:
        assert p.zone == 38 and p.depth_top is None and p.depth_bottom is None
        lon, lat = p.geometry.centroid.coords[0]
        assert 113.9 < lon < 114.9 and 29.5 < lat < 30.2


def test_bom_utf8_with_full_width_punctuation_and_digits():
    b = read_boundary(DATA / "homestead_bom_utf8.txt")
    assert b.header["_encoding"] == "utf-8-sig" and b.header["精度"] == "0.001" and b.header["测量员"] == "李工"
    p = b.parcels[0]
    assert (p.parcel_no, p.name, p.use, p.landuse_code) == ("ZJ-2026-031", "李秀英宅基地", "农村宅基地", "0702")
    assert p.area_m2 == pytest.approx(150.0, abs=0.01) and p.area_mu == pytest.approx(0.225, abs=1e-6)


def test_utf8_without_bom_and_gb18030_both_decode():
    text = HEAD + "5,0.0150,ZJ-9,赵钱孙宅基地,面,,,,@\n" + "\n".join(SQUARE)
    assert read_txt(text.encode("utf-8")).parcels[0].name == "赵钱孙宅基地"
    b = read_txt(text.encode("gb18030"))
    assert b.parcels[0].name == "赵钱孙宅基地" and b.header["_encoding"] == "gb18030"


def test_no_prefix_takes_the_zone_from_the_header_or_the_caller():
    data = (DATA / "homestead_noprefix_gbk.txt").read_bytes()
    b = read_txt(data)
    assert b.zone == 38 and b.source_crs == "EPSG:4526"
    assert b.parcels[0].area_m2 == pytest.approx(156.0, abs=0.01)
    no_zone = data.decode("gbk").replace("带号=38\r\n", "").encode("gbk")
    with pytest.raises(BoundaryError) as info:
        read_txt(no_zone)
    assert info.value.codes == ["zone_unknown"]
    assert read_boundary_bytes(no_zone, "a.txt", zone=38).parcels[0].area_m2 == pytest.approx(156.0, abs=0.01)


def test_zone_is_cross_checked_against_the_prefix():
    with pytest.raises(BoundaryError) as info:
        read_txt(one_parcel(SQUARE), zone=39)
    assert info.value.codes == ["zone_mismatch"]
    assert read_txt(one_parcel(SQUARE), zone=38).zone == 38


def test_hole_versus_part_is_decided_by_geometry_not_by_ring_number():
    data = (DATA / "requisition_multi_hole_gbk.txt").read_bytes()
    area = read_txt(data).parcels[0].area_m2
    same_label = re.sub(r"^(J\d+),[23],", r"\1,1,", data.decode("gbk"), flags=re.M)  # closure alone separates rings
    again = read_txt(same_label.encode("gbk")).parcels[0]
    assert again.area_m2 == pytest.approx(area, abs=0.01) and len(again.geometry.geoms) == 2
    two = one_parcel([*SQUARE, *(s.replace(",1,3306", ",2,3307") for s in SQUARE)], "10,0.0300,P,两块,面,,,,@")
    parts = read_txt(two).parcels[0]
    assert len(parts.geometry_gk.geoms) == 2 and parts.area_m2 == pytest.approx(2 * 150.0, abs=0.01)


def test_island_inside_a_hole_is_a_part():
    lines, n = [], 0
    for ring_no, poly in enumerate(
        (
            box(38523000, 3306000, 38523300, 3306300),
            box(38523050, 3306050, 38523250, 3306250),
            box(38523100, 3306100, 38523200, 3306200),
        ),
        start=1,
    ):
        for x, y in poly.exterior.coords:
            n += 1
            lines.append(f"J{n},{ring_no},{y:.3f},{x:.3f}")
    b = read_txt(one_parcel(lines, f"{n},5.0000,P,岛,面,,,,@"))
    assert b.parcels[0].area_m2 == pytest.approx(300 * 300 - 200 * 200 + 100 * 100, abs=0.01)
    assert len(b.parcels[0].geometry.geoms) == 2


def test_swapped_axes_are_repaired_with_a_warning():
    swapped = [re.sub(r",(\d+\.\d+),(\d+\.\d+)$", r",\2,\1", s) for s in SQUARE]
    b = read_txt(one_parcel(swapped))
    assert [w.code for w in b.all_warnings] == ["xy_swapped"]
    assert b.parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)
    assert shapely.equals_exact(b.parcels[0].geometry_gk, read_txt(one_parcel(SQUARE)).parcels[0].geometry_gk, 1e-6)


def test_duplicates_and_spikes_are_removed_with_warnings_and_lines():
    dup = [SQUARE[0], SQUARE[1], SQUARE[1], *SQUARE[2:]]
    b = read_txt(one_parcel(dup, "6,0.0150,P,x,面,,,,@"))
    assert [(w.code, w.line, w.severity) for w in b.all_warnings] == [("duplicate_point", 10, "warning")]
    assert len(b.parcels[0].geometry_gk.geoms[0].exterior.coords) == 5
    spike = [SQUARE[0], SQUARE[1], "J9,1,3306185.750,38523680.500", SQUARE[1].replace("J2", "J10"), *SQUARE[2:]]
    b = read_txt(one_parcel(spike, "7,0.0150,P,x,面,,,,@"))
    assert [(w.code, w.line) for w in b.all_warnings] == [("spike", 10)]
    assert b.parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)
    assert len(b.parcels[0].geometry_gk.geoms[0].exterior.coords) == 5


def test_declared_area_and_point_count_mismatches_are_warnings():
    b = read_txt(one_parcel(SQUARE, "9,0.0200,P,x,面,,,,@"))
    assert [(w.code, w.field, w.line) for w in b.all_warnings] == [
        ("area_mismatch", "地块面积", 7),
        ("point_count_mismatch", "界址点数", 7),
    ]
    assert "0.0200" in b.all_warnings[0].message_zh and "0.0150" in b.all_warnings[0].message_en
    within = read_txt(one_parcel(SQUARE, "5,0.01515,P,x,面,,,,@"))  # 1 % off: still fine
    assert within.all_warnings == []


def test_lenient_header_keeps_unknown_sections_and_aliases():
    head = "[项目信息]\n项目名称=测试项目\n[属性描述]\n分带=3度带\n带号=38\n坐标系=2000国家大地坐标系\n自定义=保留\n[地块坐标]\n"
    b = read_txt(one_parcel(SQUARE, head=head))
    assert b.header["项目信息"] == {"项目名称": "测试项目"}
    assert b.header["几度分带"] == "3度带" and b.header["自定义"] == "保留"
    bare = read_txt(("[地块坐标]\n5,0.0150,P,x,面,,,,@\n" + "\n".join(SQUARE)).encode())  # no header at all
    assert bare.zone == 38 and bare.parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)


@pytest.mark.parametrize("datum", ["1980西安坐标系", "1954北京坐标系"])
def test_old_datums_with_seven_parameters_are_converted(datum):
    head = HEAD.replace("2000国家大地坐标系", datum).replace(
        "[地块坐标]", "转换参数=-10.5,120.2,55.1,0.1,-0.2,0.3,1.5\n[地块坐标]"
    )
    b = read_txt(one_parcel(SQUARE, head=head))
    assert [w.code for w in b.all_warnings] == ["datum_converted"]
    assert "+towgs84=-10.5,120.2,55.1,0.1,-0.2,0.3,1.5" in b.source_crs and "+lon_0=114" in b.source_crs
    native = read_txt(one_parcel(SQUARE)).parcels[0]
    shift = b.parcels[0].geometry_gk.centroid.distance(native.geometry_gk.centroid)
    assert 5 < shift < 300  # a datum shift of metres to a few hundred metres, not another place
    assert b.parcels[0].area_m2 == pytest.approx(150.0, rel=1e-3)


def test_xian80_conversion_matches_pyproj_directly():
    from pyproj import Transformer

    head = HEAD.replace("2000国家大地坐标系", "1980西安坐标系").replace(
        "[地块坐标]", "转换参数=24,-123,-94,0.02,-0.25,-0.13,1.1\n[地块坐标]"
    )
    b = read_txt(one_parcel(SQUARE, head=head))
    # EPSG:2362 (Xian 1980 / 3-degree GK zone 38) with the same Bursa-Wolf parameters, to WGS 84 ≈ CGCS2000
    src = "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=38500000 +y_0=0 +a=6378140 +rf=298.257 +towgs84=24,-123,-94,0.02,-0.25,-0.13,1.1"
    t = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(38523680.5, 3306153.25)
    corners = shapely.get_coordinates(b.parcels[0].geometry)
    assert min(abs(c[0] - lon) + abs(c[1] - lat) for c in corners) < 1e-9


def test_extent_is_overridable():
    tight = CountyExtent(114.30, 114.40, 29.80, 29.90)
    with pytest.raises(BoundaryError) as info:
        read_txt(one_parcel(SQUARE), extent=tight)
    assert info.value.codes == ["outside_county"] and info.value.issues[0].line == 8
    wide = CountyExtent(100, 120, 20, 40)
    far = [s.replace(",33061", ",34061") for s in SQUARE]  # 100 km north: outside the county, inside the wide extent
    assert read_txt(one_parcel(far), extent=wide).parcels[0].area_m2 == pytest.approx(150.0, abs=0.01)


def test_every_parcel_error_is_reported_at_once():
    bad = (
        HEAD
        + "5,0.0150,A,x,面,,,,@\n"
        + "\n".join(SQUARE[:4])
        + "\n5,0.0150,B,y,面,,,,@\n"
        + "\n".join([SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3], SQUARE[4]])
    )
    with pytest.raises(BoundaryError) as info:
        read_txt(bad.encode())
    assert [(i.code, i.parcel_no) for i in info.value.issues] == [("ring_not_closed", "A"), ("self_intersection", "B")]


# --- the writer ---


@pytest.mark.parametrize(
    "name", ["requisition_multi_hole_gbk.txt", "homestead_bom_utf8.txt", "homestead_noprefix_gbk.txt"]
)
@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_txt_round_trip_to_the_millimetre(name, encoding):
    b = read_boundary(DATA / name)
    again = read_txt(write_txt(b, encoding=encoding))
    assert again.header["_encoding"] == ("gb18030" if encoding == "gbk" else "utf-8")
    for p, q in zip(b.parcels, again.parcels, strict=True):
        assert (p.parcel_no, p.name, p.use, p.landuse_code) == (q.parcel_no, q.name, q.use, q.landuse_code)
        assert shapely.equals_exact(shapely.normalize(p.geometry_gk), shapely.normalize(q.geometry_gk), tolerance=0.001)
        assert q.area_m2 == pytest.approx(p.area_m2, abs=0.01)
        assert q.declared_area_ha == round(p.area_ha, 4)
    assert again.all_warnings == []


def test_written_txt_follows_the_format():
    b = read_boundary(DATA / "requisition_multi_hole_gbk.txt")
    data = write_txt(b)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # GBK by default
    lines = data.decode("gbk").split("\r\n")
    assert (
        lines[0] == "[属性描述]"
        and "[地块坐标]" in lines
        and "带号=38" in lines
        and "坐标系=2000国家大地坐标系" in lines
    )
    headers = [i for i, ln in enumerate(lines) if ln.endswith(",@")]
    assert [lines[i].split(",")[1] for i in headers] == ["51.4329", "0.4800", "0.7455"]
    assert lines[headers[0]] == "17,51.4329,XA-2026-017-1,标准厂房二期,面,,工业用地,0601,@"
    body = lines[headers[0] + 1 : headers[1]]
    assert len(body) == 17
    rings: dict[str, list[str]] = {}
    for ln in body:
        assert re.fullmatch(r"J\d+,\d+,\d{7}\.\d{3},38\d{6}\.\d{3}", ln)
        rings.setdefault(ln.split(",")[1], []).append(ln)
    assert sorted(rings) == ["1", "2", "3"]
    for ring in rings.values():
        assert ring[0] == ring[-1]  # the closing point repeats the first
    numbers = [int(ln.split(",")[0][1:]) for ring in rings.values() for ln in ring[:-1]]
    assert numbers == list(range(1, 15))  # J1.. numbered through the parcel, closing points reuse the first number


def test_writer_puts_outer_rings_clockwise_and_holes_counter_clockwise():
    b = read_boundary(DATA / "requisition_multi_hole_gbk.txt")
    lines = write_txt(b, encoding="utf-8").decode().split("\r\n")
    start = next(i for i, ln in enumerate(lines) if ln.endswith(",@"))
    rings: dict[str, list[tuple[float, float]]] = {}
    for ln in lines[start + 1 : start + 18]:
        _, ring, x, y = ln.split(",")
        rings.setdefault(ring, []).append((float(y), float(x)))
    signs = {k: Polygon(v).exterior.is_ccw for k, v in rings.items()}  # in (easting, northing)
    holes = [k for k in rings if any(Polygon(rings[o]).contains(Polygon(rings[k])) for o in rings if o != k)]
    assert holes == ["2"]
    assert signs == {"1": False, "2": True, "3": False}


def test_writer_keeps_fields_intact_and_encodes_every_character():
    b = read_txt(one_parcel(SQUARE))
    b.parcels[0].name = "张三,李四 宅基地\n(合建) 𠀀"  # a comma, a line break and a character GBK lacks
    data = write_txt(b)
    again = read_txt(data)
    assert again.parcels[0].name == "张三、李四 宅基地 (合建) 𠀀"
    assert data.decode("gb18030").count(",@") == 1
    assert write_txt(b, encoding="utf-8").decode("utf-8").count("张三、李四") == 1
