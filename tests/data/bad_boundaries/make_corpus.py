"""Writes the malformed-boundary corpus and its manifest (run once; the files are committed)."""
from pathlib import Path

OUT = Path("tests/data/bad_boundaries")
HEAD = "[属性描述]\n格式版本号=1.01\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=38\n[地块坐标]\n"
P = "5,0.0150,ZJ-001,张三宅基地,面,,农村宅基地,0702,@\n"
SQ = ["J1,1,3306153.250,38523680.500", "J2,1,3306165.750,38523680.500", "J3,1,3306165.750,38523692.500",
      "J4,1,3306153.250,38523692.500", "J1,1,3306153.250,38523680.500"]


def txt(body: str, head: str = HEAD, enc: str = "utf-8") -> bytes:
    return (head + body).encode(enc)


cases = {}


def add(name, data, code, line=None):
    (OUT / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    cases[name] = (code, line)


add("01_empty.txt", b"", "empty_file")
add("02_whitespace_only.txt", b"  \r\n\r\n ", "empty_file")
add("03_binary.txt", bytes(range(256)) * 4, "not_text")
add("04_no_section.txt", "5,0.0150,ZJ-001,x,面,,,0702,@\n" + "\n".join(SQ), "no_section", 1)
add("05_no_parcels.txt", HEAD, "no_parcels")
add("06_point_before_parcel.txt", txt("\n".join(SQ)), "point_before_parcel", 7)
add("07_empty_parcel.txt", txt(P), "empty_parcel", 7)
add("08_not_closed.txt", txt(P + "\n".join(SQ[:4])), "ring_not_closed", 11)
add("09_bad_x.txt", txt(P + "\n".join([SQ[0], "J2,1,33061六5.750,38523680.500", *SQ[2:]])), "bad_number", 9)
add("10_bad_y.txt", txt(P + "\n".join([*SQ[:2], "J3,1,3306165.750,abc", *SQ[3:]])), "bad_number", 10)
add("11_too_few_points.txt", txt(P + "\n".join([SQ[0], SQ[1], SQ[0]])), "too_few_points", 8)
add("12_self_intersection.txt", txt(P + "\n".join([SQ[0], SQ[2], SQ[1], SQ[3], SQ[4]])), "self_intersection", 8)
add("13_sliver.txt", txt(P + "\n".join(["J1,1,3306153.250,38523680.500", "J2,1,3306153.250,38523980.500",
                                         "J3,1,3306153.251,38523680.600", "J1,1,3306153.250,38523680.500"])), "sliver", 8)
add("14_zone_mismatch_header.txt", txt(P + "\n".join(SQ), head=HEAD.replace("带号=38", "带号=39")), "zone_mismatch")
add("15_noprefix_no_zone.txt", txt(P + "\n".join(s.replace(",385", ",5") for s in SQ), head=HEAD.replace("带号=38\n", "")), "zone_unknown")
add("16_xian80_without_parameters.txt", txt(P + "\n".join(SQ), head=HEAD.replace("2000国家大地坐标系", "1980西安坐标系")), "datum_needs_parameters")
add("17_beijing54_without_parameters.txt", txt(P + "\n".join(SQ), head=HEAD.replace("2000国家大地坐标系", "1954北京坐标系").replace("[地块坐标]", "转换参数=,,,,,,\n[地块坐标]")), "datum_needs_parameters")
add("18_outside_county.txt", txt(P + "\n".join(s.replace(",33061", ",34061") for s in SQ)), "outside_county", 8)
add("19_bad_northing_digits.txt", txt(P + "\n".join(s.replace(",33061", ",3061") for s in SQ)), "bad_northing", 8)
add("20_bad_easting_digits.txt", txt(P + "\n".join(s.replace(",385", ",3850") for s in SQ)), "bad_easting", 8)
add("21_mixed_zones.txt", txt(P + "\n".join([*SQ[:2], SQ[2].replace(",385", ",395"), *SQ[3:]])), "mixed_zones")
add("22_rings_overlap.txt", txt("9," + P[2:] + "\n".join(SQ) + "\n" + "\n".join(
    ["J5,2,3306160.000,38523685.000", "J6,2,3306170.000,38523685.000", "J7,2,3306170.000,38523695.000",
     "J8,2,3306160.000,38523695.000", "J5,2,3306160.000,38523685.000"])), "rings_overlap", 7)
add("23_unrecognised_line.txt", txt(P + "\n".join([SQ[0], "J2;1;3306165.750;38523680.500", *SQ[2:]])), "unrecognised_line", 9)
add("24_gbk_not_closed.txt", txt(P + "\n".join(SQ[:4]), enc="gbk"), "ring_not_closed", 11)
add("25_zone_out_of_range.txt", txt(P + "\n".join(s.replace(",385", ",505") for s in SQ), head=HEAD.replace("带号=38\n", "")), "zone_out_of_range")
add("26_latin1_garbage.txt", "\xff\xfe\xfd".encode("latin-1") * 3 + b"\x81\x20\x81", "encoding")
add("27_outside_zone.txt", txt(P + "\n".join([*SQ[:2], SQ[2].replace(",38523692", ",38823692"), *SQ[3:]])), "outside_zone", 10)
add("28_crossing_later_edge.txt", txt("7," + P[2:] + "\n".join(
    ["J1,1,3306100.000,38523600.000", "J2,1,3306100.000,38523700.000", "J3,1,3306200.000,38523700.000",
     "J4,1,3306200.000,38523600.000", "J5,1,3306150.000,38523750.000", "J6,1,3306150.000,38523600.000",
     "J1,1,3306100.000,38523600.000"])), "self_intersection", 9)
add("29_letter_o_in_y.txt", txt(P + "\n".join([*SQ[:3], "J4,1,3306153.250,38523692.5O0", SQ[4]])), "bad_number", 11)
add("38_xian80_bad_parameters.txt", txt(P + "\n".join(SQ), head=HEAD.replace("2000国家大地坐标系", "1980西安坐标系").replace("[地块坐标]", "转换参数=a,b,c,d,e,f,g\n[地块坐标]")), "datum_needs_parameters")
add("39_hole_touching_twice.txt", txt("10," + P[2:] + "\n".join(SQ) + "\n" + "\n".join(
    ["J5,2,3306153.250,38523680.500", "J6,2,3306165.750,38523692.500", "J7,2,3306160.000,38523692.500",
     "J8,2,3306153.250,38523686.000", "J5,2,3306153.250,38523680.500"])), "invalid_geometry", 7)
# mining corner strings
add("30_mining_truncated.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38549550.000,3,3291100.000", "truncated")
add("31_mining_bad_number.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38549550.000,3,3291100.000,38550050.000,4,三,38550050.000,300,100,矿,1", "bad_number")
add("32_mining_bad_flag.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38549550.000,3,3291100.000,38550050.000,4,3290700.000,38550050.000,300,100,矿,2", "bad_flag")
add("33_mining_trailing.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38549550.000,3,3291100.000,38550050.000,4,3290700.000,38550050.000,300,100,矿,1,9,9", "trailing_items")
add("34_mining_only_cutout.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38549550.000,3,3291100.000,38550050.000,4,3290700.000,38550050.000,300,100,矿,-1", "no_included_ring")
add("35_mining_two_points.txt", "1,2,1,3290700.000,38549550.000,2,3291100.000,38549550.000,300,100,矿,1", "too_few_points")
add("36_mining_bad_dms.txt", "1,4,1,114.3099,29.4401,2,114.3099,29.4414,3,114.3102,29.4414,4,114.3102,29.4401,140,0,矿,1", "bad_dms")
add("37_mining_bowtie.txt", "1,4,1,3290700.000,38549550.000,2,3291100.000,38550050.000,3,3291100.000,38549550.000,4,3290700.000,38550050.000,300,100,矿,1", "self_intersection")
add("46_mining_outside_zone.txt", "1,4,1,3290700.000,38949550.000,2,3291100.000,38949550.000,3,3291100.000,38950050.000,4,3290700.000,38950050.000,300,100,矿,1", "outside_zone")
add("47_mining_dms_outside_county.txt", "1,4,1,116.1815,39.4820,2,116.1845,39.4820,3,116.1845,39.4840,4,116.1815,39.4840,150,0,矿,1", "outside_county")
add("48_mining_noprefix_no_zone.txt", "1,4,1,3290700.000,549550.000,2,3291100.000,549550.000,3,3291100.000,550050.000,4,3290700.000,550050.000,300,100,矿,1", "zone_unknown")
add("49_mining_empty.txt", "", "empty_file")
# GeoJSON
add("40_geojson_point.geojson", '{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[114.3,29.8]}}', "not_polygon")
add("41_geojson_bowtie.geojson", '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[114.30,29.80],[114.31,29.81],[114.31,29.80],[114.30,29.81],[114.30,29.80]]]}}', "self_intersection")
add("42_geojson_outside.geojson", '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[116.30,39.80],[116.31,39.80],[116.31,39.81],[116.30,39.80]]]}}', "outside_county")
add("43_geojson_broken.geojson", '{"type":"FeatureCollection","features":[{"type":', "unreadable")
add("44_geojson_empty.geojson", '{"type":"FeatureCollection","features":[]}', "no_parcels")
add("45_zip_without_shp.zip", b"PK\x05\x06" + b"\x00" * 18, "unreadable")
add("50_geojson_xian80_crs.geojson", '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::2362"}},"features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[38523680.5,3306153.25],[38523692.5,3306153.25],[38523692.5,3306165.75],[38523680.5,3306153.25]]]}}]}', "datum_needs_parameters")
add("51_geojson_linestring.geojson", '{"type":"Feature","properties":{"parcel_no":"L1"},"geometry":{"type":"LineString","coordinates":[[114.30,29.80],[114.31,29.81]]}}', "not_polygon")
add("52_geojson_sliver.geojson", '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[114.30,29.80],[114.31,29.80],[114.32,29.80],[114.30,29.80]]]}}', "sliver")
add("53_kml_point.kml", '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>p</name><Point><coordinates>114.3,29.8</coordinates></Point></Placemark></Document></kml>', "not_polygon")
add("54_random_bytes.zip", bytes(range(7, 250, 3)) * 5, "unreadable")

# point tables (CSV, XLSX): the row is the line
TABLE = "点号,X,Y\n" + "\n".join(f"{s.split(',')[0]},{s.split(',')[2]},{s.split(',')[3]}" for s in SQ[:4]) + "\n"
add("55_table_no_header.csv", "名称,面积\n张三,150\n", "no_header", 1)
add("56_table_letter_o_in_y.csv", TABLE.replace("38523692.500", "38523692.5OO", 1), "bad_number", 4)
add("57_table_missing_x.csv", TABLE.replace("3306165.750", "", 1), "missing_value", 3)
add("58_table_bowtie.csv", TABLE.replace("J2,3306165.750,38523680.500", "J2,3306165.750,38523692.500").replace(
    "J3,3306165.750,38523692.500", "J3,3306165.750,38523680.500"), "self_intersection", 2)
add("59_xlsx_not_a_workbook.xlsx", b"PK\x03\x04 not a workbook", "unreadable")
add("60_old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "xls_not_supported")

lines = ["# expected error code (and line, for TXT) of every malformed boundary file", ""]
for name, (code, line) in sorted(cases.items()):
    lines.append(f'["{name}"]')
    lines.append(f'code = "{code}"')
    if line is not None:
        lines.append(f"line = {line}")
    lines.append("")
(OUT / "expected.toml").write_text("\n".join(lines), encoding="utf-8")
print(len(cases))
