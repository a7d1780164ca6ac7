"""Real files read leniently, each leniency a warning with a code; the ellipsoidal km² of a boundary with holes."""

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString, box

from gis.boundary import BoundaryError, read_boundary, read_boundary_bytes, read_mining, read_txt

GEOD = CRS.from_epsg(4490).get_geod()
GK_TO_LL = Transformer.from_crs(4526, 4490, always_xy=True)
LL_TO_GK = Transformer.from_crs(4490, 4526, always_xy=True)
HEAD = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=38\n[地块坐标]\n"
# (X northing, Y easting) of a 12.5 m × 12 m house plot, 150 m², clockwise in (E, N)
HOUSE = [
    (3306153.250, 38523680.500),
    (3306165.750, 38523680.500),
    (3306165.750, 38523692.500),
    (3306153.250, 38523692.500),
]


def to_ll(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(GK_TO_LL.transform(xy[:, 0], xy[:, 1])))


def to_gk(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(LL_TO_GK.transform(xy[:, 0], xy[:, 1])))


def geodesic_m2(ring_en) -> float:
    """Independent ellipsoidal area of one ring given in EPSG:4526 (easting, northing): pyproj's Geod, unsigned."""
    lon, lat = GK_TO_LL.transform([e for e, _ in ring_en], [n for _, n in ring_en])
    area, _ = GEOD.polygon_area_perimeter(lon, lat)
    return abs(area)


def txt(parcel_line: str, rings: list[list[tuple[float, float]]], close: bool = True) -> bytes:
    lines, n = [HEAD + parcel_line], 0
    for ring_no, ring in enumerate(rings, start=1):
        first = n + 1
        for x, y in ring:
            n += 1
            lines.append(f"J{n},{ring_no},{x:.3f},{y:.3f}")
        if close:
            lines.append(f"J{first},{ring_no},{ring[0][0]:.3f},{ring[0][1]:.3f}")
    return "\n".join(lines).encode()


# --- the ellipsoidal km² of a boundary with holes ---


def square_xy(n0: float, e0: float, side: float, clockwise: bool = True) -> list[tuple[float, float]]:
    """A square's corners as (X northing, Y easting); clockwise in (E, N) as surveyors walk a boundary."""
    corners = [(n0, e0), (n0 + side, e0), (n0 + side, e0 + side), (n0, e0 + side)]
    return corners if clockwise else corners[::-1]


def test_km2_of_a_txt_parcel_subtracts_its_hole_whatever_the_ring_direction():
    outer = square_xy(3300000.0, 38530000.0, 1000.0)
    hole = square_xy(3300300.0, 38530300.0, 400.0)  # written clockwise like the outer ring: still a hole by geometry
    p = read_txt(txt("10,84.0000,K1,带洞地块,面,,,,@", [outer, hole])).parcels[0]
    assert p.area_m2 == pytest.approx(1000 * 1000 - 400 * 400, abs=0.01)
    expected = geodesic_m2([(y, x) for x, y in outer]) - geodesic_m2([(y, x) for x, y in hole])
    assert p.ellipsoidal_area_m2 == pytest.approx(expected, abs=0.01)
    assert expected == pytest.approx(
        839_980.73, abs=0.01
    )  # on the ellipsoid, 0.9 m² per 100 000 below the GK plane here
    assert p.area_km2 == 0.84  # before the fix the hole was added: 1.16 km²


def test_km2_of_two_parts_written_in_opposite_directions_adds_them():
    a = square_xy(3300000.0, 38530000.0, 500.0, clockwise=True)
    b = square_xy(3302000.0, 38530000.0, 300.0, clockwise=False)
    p = read_txt(txt("10,34.0000,K2,两块,面,,,,@", [a, b])).parcels[0]
    assert len(p.geometry.geoms) == 2
    expected = geodesic_m2([(y, x) for x, y in a]) + geodesic_m2([(y, x) for x, y in b])
    assert p.ellipsoidal_area_m2 == pytest.approx(expected, abs=0.01)
    assert p.area_km2 == round(expected / 1e6, 4) == 0.34  # before the fix the parts cancelled: 0.16 km²


def test_km2_of_a_mining_string_with_a_cut_out_ring():
    outer = [(3290700, 38549550), (3291100, 38549550), (3291100, 38550050), (3290700, 38550050)]
    cut = [(3290800, 38549650), (3290800, 38549750), (3290900, 38549750), (3290900, 38549650)]
    items = (
        ["2", "4"]
        + [v for k, (x, y) in enumerate(outer, 1) for v in (str(k), str(x), str(y))]
        + ["300", "100", "矿", "1"]
    )
    items += (
        ["4"] + [v for k, (x, y) in enumerate(cut, 5) for v in (str(k), str(x), str(y))] + ["300", "100", "村庄", "-1"]
    )
    p = read_mining(",".join(items).encode()).parcels[0]
    expected = geodesic_m2([(y, x) for x, y in outer]) - geodesic_m2([(y, x) for x, y in cut])
    assert p.ellipsoidal_area_m2 == pytest.approx(expected, abs=0.01)
    assert p.area_km2 == round(expected / 1e6, 4) == 0.19


# --- an unclosed ring ---


def test_a_ring_missing_its_closure_by_millimetres_closes_with_a_warning():
    ring = [*HOUSE, (HOUSE[0][0] + 0.012, HOUSE[0][1] - 0.009)]  # the closing point 15 mm off the first
    b = read_txt(txt("5,0.0150,P,x,面,,,,@", [ring], close=False))
    assert [(w.code, w.line) for w in b.all_warnings] == [("ring_closed_with_gap", 11)]
    assert "0.015 m" in b.all_warnings[0].message_en and "0.015 米" in b.all_warnings[0].message_zh
    assert b.parcels[0].area_m2 == pytest.approx(150.0, abs=0.001)  # closed on the first point: the plot as surveyed


def test_a_ring_open_by_more_than_the_tolerance_is_refused_naming_the_gap():
    ring = [*HOUSE, (HOUSE[0][0] + 0.3, HOUSE[0][1] + 0.4)]  # half a metre off
    with pytest.raises(BoundaryError) as info:
        read_txt(txt("5,0.0150,P,x,面,,,,@", [ring], close=False))
    issue = info.value.issues[0]
    assert (issue.code, issue.line) == ("ring_not_closed", 11)
    assert "0.500 m" in issue.message_en and "相距 0.500 米" in issue.message_zh
    with pytest.raises(BoundaryError) as info:
        read_txt(txt("5,0.0150,P,x,面,,,,@", [HOUSE], close=False))  # no closing point at all: the last edge's length
    assert "12.000 m" in info.value.issues[0].message_en


def test_a_mining_ring_whose_last_corner_nearly_repeats_the_first_is_closed_on_it():
    corners = [
        (3290700, 38549550),
        (3291100, 38549550),
        (3291100, 38550050),
        (3290700, 38550050),
        (3290700.02, 38549550),
    ]
    s = "1,5," + ",".join(f"{k},{x},{y}" for k, (x, y) in enumerate(corners, 1)) + ",300,100,矿,1"
    b = read_mining(s.encode())
    assert [w.code for w in b.all_warnings] == ["ring_closed_with_gap"]
    assert b.parcels[0].area_m2 == pytest.approx(400 * 500, abs=0.001)


# --- a declared area in m² ---


def test_a_declared_area_in_square_metres_is_named_as_such():
    b = read_txt(txt("5,150,ZJ-1,x,面,,,,@", [HOUSE]))
    assert [(w.code, w.field, w.line) for w in b.all_warnings] == [("declared_area_in_m2", "地块面积", 6)]
    assert "m²" in b.all_warnings[0].message_en and "平方米" in b.all_warnings[0].message_zh
    assert b.parcels[0].area_ha == pytest.approx(0.0150, abs=1e-9) and b.parcels[0].declared_area_ha == 150.0
    # a declared area that is simply wrong stays an area mismatch
    assert [w.code for w in read_txt(txt("5,0.0300,ZJ-1,x,面,,,,@", [HOUSE])).all_warnings] == ["area_mismatch"]
    assert read_txt(txt("5,0.0150,ZJ-1,x,面,,,,@", [HOUSE])).all_warnings == []


# --- mining rings whose flags look wrong ---


def mining(*rings: tuple[list[tuple[float, float]], str, int]) -> bytes:
    items, k = [str(len(rings))], 0
    for corners, remark, flag in rings:
        items.append(str(len(corners)))
        for x, y in corners:
            k += 1
            items += [str(k), f"{x:.3f}", f"{y:.3f}"]
        items += ["300", "100", remark, str(flag)]
    return ",".join(items).encode()


def test_an_included_mining_ring_whose_remark_says_cut_out_is_warned():
    outer = [(3290700, 38549550), (3291100, 38549550), (3291100, 38550050), (3290700, 38550050)]
    village = [(3290800, 38549650), (3290900, 38549650), (3290900, 38549750), (3290800, 38549750)]
    b = read_mining(mining((outer, "咸安区某石灰岩矿", 1), (village, "扣除村庄", 1)))
    assert [(w.code, w.field) for w in b.all_warnings] == [("included_ring_remark_excludes", "ring 2")]
    assert "扣除" in b.all_warnings[0].message_zh and "-1" in b.all_warnings[0].message_en
    # taken as flagged: the village ring lies inside the mine, so the union is the mine's 200 000 m²
    assert b.parcels[0].area_m2 == pytest.approx(400 * 500, abs=0.01)
    flagged_right = read_mining(mining((outer, "咸安区某石灰岩矿", 1), (village, "扣除村庄", -1)))
    assert flagged_right.all_warnings == [] and flagged_right.parcels[0].area_m2 == pytest.approx(
        400 * 500 - 100 * 100, abs=0.01
    )


def test_an_included_mining_ring_crossing_another_ring_is_warned():
    a = [(3290700, 38549550), (3291100, 38549550), (3291100, 38550050), (3290700, 38550050)]
    b = [
        (3291000, 38549950),
        (3291200, 38549950),
        (3291200, 38550150),
        (3291000, 38550150),
    ]  # overlaps a by 100 × 100 m
    got = read_mining(mining((a, "矿", 1), (b, "矿", 1)))
    assert [(w.code, w.field) for w in got.all_warnings] == [("rings_cross", "ring 1")]
    assert "10000.00 m²" in got.all_warnings[0].message_en
    assert got.parcels[0].area_m2 == pytest.approx(400 * 500 + 200 * 200 - 100 * 100, abs=0.01)
    cut = read_mining(mining((a, "矿", 1), (b, "村庄", -1)))
    assert [w.code for w in cut.all_warnings] == ["rings_cross"]
    assert cut.parcels[0].area_m2 == pytest.approx(400 * 500 - 100 * 100, abs=0.01)


# --- a KML that mixes the parcel with a path ---


def test_a_kml_mixing_polygons_and_a_line_takes_the_polygons(tmp_path):
    import geopandas as gpd

    plot = to_ll(box(38523680.5, 3306153.25, 38523692.5, 3306165.75))
    path = to_ll(LineString([(38523600.0, 3306100.0), (38523690.0, 3306150.0)]))
    gdf = gpd.GeoDataFrame({"Name": ["进场道路", "王家宅基地"]}, geometry=[path, plot], crs=4326)
    kml = tmp_path / "mixed.kml"
    gdf.to_file(kml, driver="KML")
    b = read_boundary(kml)
    assert [p.name for p in b.parcels] == ["王家宅基地"]
    assert [(w.code, w.field) for w in b.all_warnings] == [("non_polygon_skipped", "feature 1")]
    assert "LineString" in b.all_warnings[0].message_en and "进场道路" in b.all_warnings[0].message_zh
    assert b.parcels[0].area_m2 == pytest.approx(to_gk(plot).area, abs=0.05)  # KML keeps 15 significant digits
    # a GeoJSON mixing them is still refused: there a line is more likely a parcel drawn wrong
    geojson = tmp_path / "mixed.geojson"
    gdf.to_file(geojson, driver="GeoJSON")
    with pytest.raises(BoundaryError) as info:
        read_boundary(geojson)
    assert info.value.codes == ["not_polygon"]
    # a KML holding only the line is refused too
    only_line = tmp_path / "line.kml"
    gdf.iloc[:1].to_file(only_line, driver="KML")
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes(only_line.read_bytes(), "line.kml")
    assert info.value.codes == ["not_polygon"]
