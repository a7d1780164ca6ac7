"""Mining-right corner strings: projected and packed DMS, cut-out rings, depth ranges, ellipsoidal km², round trips."""

from pathlib import Path

import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon

from gis.boundary import BoundaryError, read_boundary, read_mining, to_geojson, write_mining

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
GEOD = CRS.from_epsg(4490).get_geod()


def dms(token: str) -> float:
    d, frac = token.split(".")
    frac = (frac + "0000")[:4]
    return int(d) + int(frac[:2]) / 60 + int(frac[2:4]) / 3600


def test_projected_corner_string_with_a_cut_out_ring():
    b = read_boundary(DATA / "mining_projected_gbk.txt")
    assert b.source_format == "mining" and b.source_crs == "EPSG:4526" and b.zone == 38
    p = b.parcels[0]
    assert p.name == "咸安区贺胜桥石灰岩矿" and (p.depth_top, p.depth_bottom) == (320.0, 80.0)
    assert p.area_m2 == pytest.approx(400 * 500 - 100 * 100, abs=0.01)
    assert len(p.geometry_gk.geoms) == 1 and len(p.geometry_gk.geoms[0].interiors) == 1
    assert [r["flag"] for r in b.header["rings"]] == [1, -1] and b.header["coordinates"] == "projected"
    # ellipsoidal km² to 4 decimals, checked against pyproj's geodesic area of the projected corners
    to_ll = Transformer.from_crs(4526, 4490, always_xy=True)
    outer = Polygon(
        [
            to_ll.transform(y, x)
            for x, y in [(3290700, 38549550), (3291100, 38549550), (3291100, 38550050), (3290700, 38550050)]
        ]
    )
    cut = Polygon(
        [
            to_ll.transform(y, x)
            for x, y in [(3290800, 38549650), (3290900, 38549650), (3290900, 38549750), (3290800, 38549750)]
        ]
    )
    expected = abs(GEOD.geometry_area_perimeter(outer)[0]) - abs(GEOD.geometry_area_perimeter(cut)[0])
    assert p.ellipsoidal_area_m2 == pytest.approx(expected, abs=0.01)
    assert p.area_km2 == round(expected / 1e6, 4)
    assert to_geojson(b)["features"][0]["properties"]["area_km2"] == p.area_km2


def test_dms_corner_string_longitude_first():
    b = read_boundary(DATA / "mining_dms_utf8.txt")
    assert b.source_crs == "EPSG:4490" and b.header["coordinates"] == "dms" and b.zone == 38
    p = b.parcels[0]
    assert (p.depth_top, p.depth_bottom) == (150.0, 0.0) and p.name == "咸安区高桥建筑用砂岩矿"
    ring = [
        (dms("114.1815"), dms("29.4820")),
        (dms("114.1845"), dms("29.4820")),
        (dms("114.1845"), dms("29.4840")),
        (dms("114.1815"), dms("29.4840")),
    ]
    assert abs(ring[0][0] - (114 + 18 / 60 + 15 / 3600)) < 1e-12
    expected = abs(GEOD.geometry_area_perimeter(Polygon(ring))[0])
    assert p.ellipsoidal_area_m2 == pytest.approx(expected, abs=0.01)
    assert p.area_km2 == round(expected / 1e6, 4)
    to_gk = Transformer.from_crs(4490, 4526, always_xy=True)
    assert p.area_m2 == pytest.approx(Polygon([to_gk.transform(*c) for c in ring]).area, abs=0.01)


def test_closed_rings_and_line_breaks_are_accepted():
    s = "1,\n5,1,3290700,38549550,2,3291100,38549550,3,3291100,38550050,4,3290700,38550050,5,3290700,38549550,\n300,100,矿,1\n"
    assert read_mining(s.encode()).parcels[0].area_m2 == pytest.approx(200000.0, abs=0.01)


def test_two_included_rings_keep_the_widest_depth_range():
    s = (
        "2,4,1,3290700,38549550,2,3291100,38549550,3,3291100,38550050,4,3290700,38550050,300,100,矿,1,"
        "4,5,3292700,38549550,6,3293100,38549550,7,3293100,38550050,8,3292700,38550050,250,50,矿,1"
    )
    p = read_mining(s.encode()).parcels[0]
    assert len(p.geometry.geoms) == 2 and (p.depth_top, p.depth_bottom) == (300.0, 50.0)


def test_no_prefix_projected_needs_the_zone():
    s = "1,4,1,3290700,549550,2,3291100,549550,3,3291100,550050,4,3290700,550050,300,100,矿,1"
    with pytest.raises(BoundaryError) as info:
        read_mining(s.encode())
    assert info.value.codes == ["zone_unknown"]
    assert read_mining(s.encode(), zone=38).parcels[0].area_m2 == pytest.approx(200000.0, abs=0.01)


@pytest.mark.parametrize("name", ["mining_projected_gbk.txt", "mining_dms_utf8.txt"])
def test_projected_round_trip_to_the_millimetre(name):
    b = read_boundary(DATA / name)
    written = write_mining(b)
    assert written.count(",1,") >= 1 and not written.endswith(",")
    again = read_mining(written.encode())
    p, q = b.parcels[0], again.parcels[0]
    assert shapely.equals_exact(shapely.normalize(q.geometry_gk), shapely.normalize(p.geometry_gk), tolerance=0.001)
    assert (q.depth_top, q.depth_bottom) == (p.depth_top, p.depth_bottom)


@pytest.mark.parametrize("name", ["mining_projected_gbk.txt", "mining_dms_utf8.txt"])
def test_dms_round_trip_within_a_few_millimetres(name):
    b = read_boundary(DATA / name)
    written = write_mining(b, dms=True)
    again = read_mining(written.encode())
    assert again.source_crs == "EPSG:4490"
    assert shapely.hausdorff_distance(again.parcels[0].geometry_gk, b.parcels[0].geometry_gk) < 0.005  # 0.0001″ ≈ 3 mm
    assert again.parcels[0].area_km2 == b.parcels[0].area_km2


def test_written_corner_string_follows_the_format():
    b = read_boundary(DATA / "mining_projected_gbk.txt")
    items = write_mining(b).split(",")
    assert items[0] == "2" and items[1] == "4"
    first_ring = items[2 : 2 + 12]
    assert first_ring[1:3] == ["3291100.000", "38549550.000"] or first_ring[1].startswith("3290")  # northing first
    assert all(len(first_ring[k].split(".")[0]) == 7 for k in (1, 4, 7, 10))
    assert all(first_ring[k].startswith("38") for k in (2, 5, 8, 11))
    assert first_ring[1:3] != first_ring[10:12]  # not closed
    assert items[14:18] == ["320", "80", "咸安区贺胜桥石灰岩矿", "1"]
    assert items[-1] == "-1"
    dms_items = write_mining(b, dms=True).split(",")
    assert dms_items[3].startswith("114.") and dms_items[4].startswith("29.")  # longitude first
