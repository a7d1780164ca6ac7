"""Point tables (CSV, XLSX) as boundaries: every variant seen in real files, areas against an independent computation."""

import csv
import io
import math
from pathlib import Path

import openpyxl
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Polygon

from gis.boundary import BoundaryError, read_boundary, read_boundary_bytes, sniff, write_txt

DATA = Path(__file__).resolve().parent / "data" / "point_tables"
TO_GK = Transformer.from_crs(4490, 4526, always_xy=True)


def parity_area(rings: list[list[tuple[float, float]]]) -> float:
    """Σ ring areas signed by how many other rings contain them: holes subtract, islands in holes add."""
    polys = [Polygon(r) for r in rings]
    return sum(p.area * (-1) ** sum(q.contains(p) for q in polys if q is not p) for p in polys)


def csv_rows(name: str, encoding: str = "utf-8-sig", sep: str = ",") -> list[list[str]]:
    text = (DATA / name).read_bytes().decode(encoding).replace("，", ",").replace("．", ".")
    return [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]


def en(x: str, y: str, zone: int = 38) -> tuple[float, float]:
    """(easting with the zone prefix, northing) of a surveyor's X (northing) and Y (easting)."""
    e = float(y)
    return (e if e > 1e7 else e + zone * 1_000_000), float(x)


def expected_by_parcel(rows: list[list[str]], parcel: int | None, ring: int | None, x: int, y: int) -> dict[str, float]:
    """Independent areas of an X/Y table: rows grouped by parcel and ring column, parity of containment."""
    rings: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in rows:
        key = r[parcel] if parcel is not None else ""
        rings.setdefault(key, {}).setdefault(r[ring] if ring is not None else "1", []).append(en(r[x], r[y]))
    return {k: parity_area(list(v.values())) for k, v in rings.items()}


# --- X/Y tables ---


def test_xy_with_zone_prefix_utf8_bom_closed_ring():
    b = read_boundary(DATA / "xy_prefixed_bom.csv")
    assert (b.source_format, b.source_crs, b.zone) == ("csv", "EPSG:4526", 38)
    expected = expected_by_parcel(csv_rows("xy_prefixed_bom.csv")[1:], None, None, 1, 2)[""]
    assert expected == pytest.approx(150.0, abs=1e-6)
    [p] = b.parcels
    assert p.parcel_no == "xy_prefixed_bom" and p.area_m2 == pytest.approx(expected, abs=0.001)
    assert b.all_warnings == [] and b.header["columns"]["x"] == "X (column 2)"


def test_xy_without_prefix_gbk_takes_the_zone_from_the_county_or_the_caller():
    data = (DATA / "xy_noprefix_gbk.csv").read_bytes()
    expected = expected_by_parcel(csv_rows("xy_noprefix_gbk.csv", "gbk")[1:], None, None, 1, 2)[""]
    assert expected == pytest.approx(156.0, abs=1e-6)
    b = read_boundary_bytes(data, "宅基地.csv")
    assert b.header["_encoding"] == "gb18030" and b.source_crs == "EPSG:4526"
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001)
    assert [(w.code, w.line, w.field) for w in b.all_warnings] == [("zone_from_county", 2, "Y坐标(m) (column 3)")]
    given = read_boundary_bytes(data, "宅基地.csv", zone=38)
    assert given.all_warnings == [] and given.parcels[0].area_m2 == pytest.approx(expected, abs=0.001)
    with pytest.raises(BoundaryError) as info:  # a wrong zone given puts the plot 3° east, out of the county
        read_boundary_bytes(data, "宅基地.csv", zone=39)
    assert info.value.codes == ["outside_county"] and info.value.issues[0].line == 2


def test_swapped_columns_under_the_same_labels_are_read_swapped_with_a_warning():
    b = read_boundary(DATA / "xy_swapped.csv")
    expected = expected_by_parcel(csv_rows("xy_swapped.csv")[1:], None, None, 2, 1)[""]  # X and Y exchanged by hand
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001) == 150.0
    assert [(w.code, w.line) for w in b.all_warnings] == [("xy_swapped", 2)]
    assert "swapped" in b.all_warnings[0].message_en and "颠倒" in b.all_warnings[0].message_zh
    straight = read_boundary(DATA / "xy_prefixed_bom.csv").parcels[0]
    assert b.parcels[0].geometry_gk.symmetric_difference(straight.geometry_gk).area < 1e-6


def test_full_width_punctuation_gbk_and_a_sequence_column():
    b = read_boundary(DATA / "fullwidth_gbk.csv")
    expected = expected_by_parcel(csv_rows("fullwidth_gbk.csv", "gbk")[1:], None, None, 2, 3)[""]
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001) == 156.0
    assert b.header["columns"] == {
        "seq": "序号 (column 1)",
        "point": "点号 (column 2)",
        "x": "X (column 3)",
        "y": "Y (column 4)",
    }


# --- degrees ---


def lonlat_area(pairs: list[tuple[float, float]]) -> float:
    return Polygon([TO_GK.transform(lon, lat) for lon, lat in pairs]).area


def test_decimal_degrees():
    rows = csv_rows("lonlat_decimal.csv")[1:]
    expected = lonlat_area([(float(r[1]), float(r[2])) for r in rows])
    b = read_boundary(DATA / "lonlat_decimal.csv")
    assert b.source_crs == "EPSG:4490" and b.header["coordinates"] == "degrees"
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001)
    assert round(b.parcels[0].area_m2) == 150  # the house plot, written to 1e-9° (0.1 mm)
    assert b.all_warnings == []


def unpack(token: str) -> float:
    d, frac = token.split(".")
    return int(d) + int(frac[:2]) / 60 + float(frac[2:4] + "." + frac[4:]) / 3600


def test_packed_dms_latitude_first_is_told_apart_by_size():
    rows = csv_rows("lonlat_packed_dms.csv")[1:]
    expected = lonlat_area([(unpack(r[2]), unpack(r[1])) for r in rows])
    b = read_boundary(DATA / "lonlat_packed_dms.csv")
    assert b.header["coordinates"] == "packed dms"
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001) and round(b.parcels[0].area_m2) == 150
    # the columns are labelled right (纬度 first is allowed): no swap warning
    assert b.all_warnings == []


def test_degrees_with_symbols_in_a_tab_separated_txt():
    data = (DATA / "lonlat_symbols.txt").read_bytes()
    assert sniff(data, "lonlat_symbols.txt") == "table"
    rows = csv_rows("lonlat_symbols.txt", sep="\t")[1:]

    def sym(v: str) -> float:
        d, rest = v.split("°")
        m, s = rest.split("′")
        return int(d) + int(m) / 60 + float(s.rstrip("″")) / 3600

    expected = lonlat_area([(sym(r[1]), sym(r[2])) for r in rows])
    b = read_boundary_bytes(data, "lonlat_symbols.txt")
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001) and round(b.parcels[0].area_m2) == 150


def test_longitude_and_latitude_swapped_under_their_labels_are_warned():
    rows = csv_rows("lonlat_decimal.csv")
    text = "\n".join(",".join([r[0], r[2], r[1]]) if k else ",".join(r) for k, r in enumerate(rows))
    b = read_boundary_bytes(text.encode(), "swapped.csv")
    assert [(w.code, w.line) for w in b.all_warnings] == [("lonlat_swapped", 2)]
    assert b.parcels[0].area_m2 == pytest.approx(lonlat_area([(float(r[1]), float(r[2])) for r in rows[1:]]), abs=0.001)


def test_degrees_under_x_y_labels():
    rows = csv_rows("lonlat_decimal.csv")[1:]
    text = "点号,X,Y\n" + "\n".join(f"{r[0]},{r[2]},{r[1]}" for r in rows)  # X the latitude, as a surveyor would
    b = read_boundary_bytes(text.encode(), "degrees.csv")
    assert [w.code for w in b.all_warnings] == ["degrees_in_xy"]
    assert b.parcels[0].area_m2 == pytest.approx(lonlat_area([(float(r[1]), float(r[2])) for r in rows]), abs=0.001)


# --- several parcels and rings ---


def test_parcel_and_ring_columns_unclosed_rings_hole_and_part_by_geometry():
    rows = csv_rows("parcels_rings.csv")[1:]
    expected = expected_by_parcel(rows, 0, 1, 3, 4)
    b = read_boundary(DATA / "parcels_rings.csv")
    assert [p.parcel_no for p in b.parcels] == ["XA-1", "XA-2"]
    assert {p.parcel_no: p.area_m2 for p in b.parcels} == pytest.approx(expected, abs=0.001)
    field = b.parcels[0]
    assert len(field.geometry_gk.geoms) == 2  # the field with its pond as a hole, and the annex
    assert sorted(len(g.interiors) for g in field.geometry_gk.geoms) == [0, 1]
    assert b.parcels[1].area_m2 == pytest.approx(12 * 400, abs=0.001)
    assert b.all_warnings == []


def test_headerless_nongzhuanyong_table():
    rows = csv_rows("nongzhuanyong_headerless.csv", "gbk")
    expected = expected_by_parcel(rows, 1, 2, 4, 5)
    b = read_boundary(DATA / "nongzhuanyong_headerless.csv")
    assert b.header["layout"] == "headerless 6 columns" and b.header["header_row"] is None
    assert {p.parcel_no: p.area_m2 for p in b.parcels} == pytest.approx(expected, abs=0.001)
    assert len(b.parcels[0].geometry_gk.geoms[0].interiors) == 1
    # the points, written back as TXT, hold the same areas
    again = read_boundary_bytes(write_txt(b), "again.txt")
    assert [p.area_m2 for p in again.parcels] == pytest.approx([p.area_m2 for p in b.parcels], abs=0.001)


def test_a_single_parcel_table_without_ring_column_holding_two_closed_rings():
    house = ["3306153.25,38523680.5", "3306165.75,38523680.5", "3306165.75,38523692.5", "3306153.25,38523692.5"]
    shed = ["3306200.0,38523680.5", "3306210.0,38523680.5", "3306210.0,38523690.5"]  # a 10 m × 10 m right triangle
    corners = [*house, house[0], *shed, shed[0]]  # each ring closed: closure alone separates them
    text = "点号,X,Y\n" + "\n".join(f"J{k},{c}" for k, c in enumerate(corners, 1))
    b = read_boundary_bytes(text.encode(), "two.csv")
    assert len(b.parcels[0].geometry_gk.geoms) == 2
    assert b.parcels[0].area_m2 == pytest.approx(150.0 + 10 * 10 / 2, abs=0.001)


# --- XLSX ---


def xlsx_expected(path: Path) -> dict[str, float]:
    """Independent areas of the sample workbook: openpyxl's values, the 宗地号 carried down its merged cells."""
    sheet = openpyxl.load_workbook(path)["界址点坐标"]
    rings: dict[str, dict[int, list[tuple[float, float]]]] = {}
    parcel = None
    for row in sheet.iter_rows(min_row=4, values_only=True):
        if not isinstance(row[3], float | int):
            continue
        parcel = row[0] or parcel
        rings.setdefault(parcel, {}).setdefault(row[1], []).append((row[4], row[3]))
    return {k: parity_area(list(v.values())) for k, v in rings.items()}


def test_xlsx_sheet_named_for_corners_title_row_merged_parcel_cells():
    b = read_boundary(DATA / "parcels.xlsx")
    assert (b.source_format, b.header["sheet"], b.header["header_row"]) == ("xlsx", "界址点坐标", 3)
    assert b.header["columns"]["y"] == "Y坐标 (column E)"
    assert b.header["title"] == ["界址点坐标表(2000国家大地坐标系,3度带第38带)"]  # full-width read as ASCII
    expected = xlsx_expected(DATA / "parcels.xlsx")
    assert {p.parcel_no: p.area_m2 for p in b.parcels} == pytest.approx(expected, abs=0.001)
    assert [p.parcel_no for p in b.parcels] == ["HG-031", "HG-032"]
    # the footer row (制表：…) has no coordinates: skipped with a warning naming its row
    assert [(w.code, w.line) for w in b.all_warnings] == [("row_skipped", 23)]
    upload = read_boundary_bytes((DATA / "parcels.xlsx").read_bytes(), "upload")  # no extension: told by its content
    assert [p.area_m2 for p in upload.parcels] == pytest.approx([p.area_m2 for p in b.parcels], abs=1e-9)


# --- errors name the row and the column ---


def test_csv_errors_name_row_and_column_and_are_all_reported():
    with pytest.raises(BoundaryError) as info:
        read_boundary(DATA / "bad_cells.csv")
    got = [(i.code, i.line, i.field) for i in info.value.issues if i.severity == "error"]
    assert got == [("bad_number", 4, "Y (column 3)"), ("missing_value", 6, "X (column 2)")]
    assert str(info.value.issues[0]).startswith("line 4, field Y (column 3): Y (column 3)不是数字")
    assert "'38523692.5OO'" in info.value.issues[0].message_en


def test_xlsx_errors_name_the_column_letter():
    with pytest.raises(BoundaryError) as info:
        read_boundary(DATA / "bad_cells.xlsx")
    [issue] = info.value.issues
    assert (issue.code, issue.line, issue.field) == ("bad_number", 4, "Y (column C)")
    assert "三八五二三六九二" in issue.message_zh and issue.message_zh != issue.message_en


def test_geometry_errors_name_the_row():
    text = "点号,X,Y\nJ1,3306153.25,38523680.5\nJ2,3306165.75,38523692.5\nJ3,3306165.75,38523680.5\nJ4,3306153.25,38523692.5\n"
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes(text.encode(), "bowtie.csv")
    issue = info.value.issues[0]
    assert issue.code == "self_intersection" and issue.line == 2 and "L2–L3" in issue.message_en
    far = text.replace("33061", "34061").replace("J2,3306165.75,38523692.5", "J2,3406165.75,38523680.5")
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes(far.encode(), "far.csv")
    assert info.value.codes == ["outside_county"] and info.value.issues[0].line == 2


@pytest.mark.parametrize(
    ("content", "name", "code", "line"),
    [
        (b"", "empty.csv", "empty_file", None),
        ("名称,面积\n张三,150\n".encode(), "nohead.csv", "no_header", 1),
        ("点号,X,Y\n".encode(), "onlyhead.csv", "no_parcels", None),
        ("点号,X,Y\nJ1,3306153.25\n".encode(), "short.csv", "missing_value", 2),
        (
            "点号,X,Y\nJ1,330615.25,38523680.5\nJ2,330616.75,38523680.5\nJ3,330616.75,38523692.5\n".encode(),
            "six.csv",
            "bad_northing",
            2,
        ),
        (b"PK\x03\x04 not really", "broken.xlsx", "unreadable", None),
        ("点号,经度,纬度\nJ1,38523680.5,3306153.25\n".encode(), "metres.csv", "bad_number", 2),
        ("点号,X,Y\nJ1,3306153.25,38523680.5\nJ2,,\n".encode(), "gap.csv", "missing_value", 3),
        (b"\xd0\xcf\x11\xe0", "old.xls", "xls_not_supported", None),
    ],
)
def test_bad_tables_are_refused_with_a_code(content, name, code, line):
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes(content, name)
    first = next(i for i in info.value.issues if i.severity == "error")
    assert (first.code, first.line) == (code, line)
    assert first.message_zh and first.message_en and first.message_zh != first.message_en


def test_sniffing_routes_tables_and_keeps_the_other_formats():
    assert sniff(b"", "a.csv") == sniff(b"", "a.xlsx") == "table"
    assert sniff((DATA / "nongzhuanyong_headerless.csv").read_bytes(), "a.txt") == "table"
    assert sniff("点号,X,Y\nJ1,1,2\n".encode("gbk"), "a.dat") == "table"
    assert sniff(b"2,4,1,3290700,38549550,2,3291100,38549550", "m.txt") == "mining"
    assert sniff("[属性描述]\n".encode(), "a.txt") == "txt"
    assert sniff((DATA / "parcels.xlsx").read_bytes(), "upload.bin") == "table"


def test_a_caption_line_before_the_header_and_a_space_separated_list():
    corners = [
        "3306153.250 38523680.500",
        "3306165.750 38523680.500",
        "3306165.750 38523692.500",
        "3306153.250 38523692.500",
    ]
    expected = parity_area([[en(*c.split()) for c in corners]])
    captioned = "界址点坐标表\n点号,X,Y\n" + "\n".join(f"J{k},{c.replace(' ', ',')}" for k, c in enumerate(corners, 1))
    b = read_boundary_bytes(captioned.encode(), "a.csv")
    assert b.header["title"] == ["界址点坐标表"] and b.header["header_row"] == 2
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001) == 150.0
    spaced = "\n".join(f"J{k} {c}" for k, c in enumerate(corners, 1))
    b = read_boundary_bytes(spaced.encode(), "a.csv")
    assert b.header["layout"] == "headerless 3 columns"
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001)


def test_xlsx_first_sheet_in_degrees_stored_as_numbers(tmp_path):
    rows = csv_rows("lonlat_decimal.csv")
    book = openpyxl.Workbook()
    sheet = book.active  # "Sheet": no sheet named for corners, so the first is read
    sheet.append(["点号", "经度", "纬度"])
    for r in rows[1:]:
        sheet.append([r[0], float(r[1]), float(r[2])])
    book.create_sheet("备注").append(["测量员", "李工"])
    path = tmp_path / "度.xlsx"
    book.save(path)
    b = read_boundary(path)
    assert b.header["sheet"] == "Sheet" and b.source_crs == "EPSG:4490"
    assert b.parcels[0].area_m2 == pytest.approx(lonlat_area([(float(r[1]), float(r[2])) for r in rows[1:]]), abs=0.001)


# --- every variant of a random parcel reads to the same area ---

corners_st = st.lists(
    st.tuples(st.integers(0, 600_000), st.integers(0, 600_000)), min_size=3, max_size=12, unique=True
)  # millimetres from the origin


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=corners_st,
    origin=st.tuples(st.integers(3_285_000, 3_320_000), st.integers(38_512_000, 38_565_000)),
    prefixed=st.booleans(),
    swapped=st.booleans(),
    closed=st.booleans(),
    sep=st.sampled_from([",", "\t", ";", "，"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
)
def test_any_x_y_variant_of_a_parcel_reads_to_its_area(offsets, origin, prefixed, swapped, closed, sep, encoding):
    hull = shapely.convex_hull(shapely.multipoints([(e / 1000, n / 1000) for n, e in offsets]))
    assume(isinstance(hull, Polygon) and hull.area > 1.0 and 4 * math.pi * hull.area / hull.length**2 > 0.01)
    ring = [(origin[0] + n, origin[1] + e) for e, n in list(hull.exterior.coords)[:-1]]  # (X northing, Y easting)
    if closed:
        ring.append(ring[0])
    header = ["界址点号", "X坐标", "Y坐标"]
    lines = [sep.join(header)]
    for k, (x, y) in enumerate(ring):
        y_text = f"{y:.3f}" if prefixed else f"{y - 38_000_000:.3f}"
        cells = [f"J{k % (len(ring) - closed) + 1}", f"{x:.3f}", y_text]
        if swapped:
            cells[1], cells[2] = cells[2], cells[1]
        lines.append(sep.join(cells))
    b = read_boundary_bytes("\n".join(lines).encode(encoding), "random.csv")
    expected = Polygon([(float(f"{y:.3f}"), float(f"{x:.3f}")) for x, y in ring]).area
    assert b.parcels[0].area_m2 == pytest.approx(expected, abs=0.001)
    codes = [w.code for w in b.all_warnings]
    assert ("xy_swapped" in codes) == swapped and ("zone_from_county" in codes) == (not prefixed)
