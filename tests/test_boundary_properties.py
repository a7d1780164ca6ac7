"""Property tests: random valid polygons in zone 38 round-trip through TXT to the millimetre; noise never escapes."""

import json
import math
import random

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from gis.boundary import (
    Boundary,
    BoundaryError,
    read_boundary_bytes,
    read_drawn,
    read_mining,
    read_txt,
    write_mining,
    write_txt,
)

HEAD = "[属性描述]\n格式版本号=1.01\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=38\n[地块坐标]\n"
# inside the county in zone 38: X (northing) 3.28–3.33e6, Y 38 509 000–38 570 000, kept off the extent's edges
origins = st.tuples(st.floats(38_512_000, 38_565_000), st.floats(3_285_000, 3_322_000))
sizes = st.tuples(st.floats(5, 800), st.floats(5, 800))


def star_polygon(
    origin: tuple[float, float], size: tuple[float, float], n: int, seed: int
) -> list[tuple[float, float]]:
    """A random star-shaped ring around `origin` (easting, northing), millimetre coordinates: simple by construction."""
    rnd = random.Random(seed)
    x0, y0 = origin
    angles = sorted({round(rnd.uniform(0, 2 * math.pi), 3) for _ in range(n)})
    return [
        (
            round(x0 + size[0] * (0.4 + 0.6 * rnd.random()) * math.cos(a), 3),
            round(y0 + size[1] * (0.4 + 0.6 * rnd.random()) * math.sin(a), 3),
        )
        for a in angles
    ]


def txt_of(rings: list[list[tuple[float, float]]]) -> bytes:
    lines, n = [], 0
    for ring_no, pts in enumerate(rings, start=1):
        first = n + 1
        for e, nn in pts:
            n += 1
            lines.append(f"J{n},{ring_no},{nn:.3f},{e:.3f}")
        lines.append(f"J{first},{ring_no},{pts[0][1]:.3f},{pts[0][0]:.3f}")
    return (HEAD + f"{len(lines)},,R,随机,面,,,,@\n" + "\n".join(lines)).encode("gbk")


def assert_same_to_the_millimetre(a: Boundary, b: Boundary) -> None:
    for p, q in zip(a.parcels, b.parcels, strict=True):
        assert shapely.equals_exact(shapely.normalize(p.geometry_gk), shapely.normalize(q.geometry_gk), tolerance=0.001)
        assert q.area_m2 == pytest.approx(p.area_m2, abs=0.01)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin=origins, size=sizes, n=st.integers(3, 40), seed=st.integers(0, 10_000), hole=st.booleans())
def test_random_polygons_round_trip_through_txt(origin, size, n, seed, hole):
    pts = star_polygon(origin, size, n, seed)
    poly = Polygon(pts)
    if len(set(pts)) < 3 or not poly.is_valid or poly.area < 1:
        return
    rings = [pts]
    if hole:  # a small square hole around the star's centre, well inside it
        side = min(size) * 0.1
        (cx, cy) = origin
        square = [(cx - side, cy - side), (cx - side, cy + side), (cx + side, cy + side), (cx + side, cy - side)]
        if poly.contains(Polygon(square).buffer(0.01)):
            rings.append([(round(x, 3), round(y, 3)) for x, y in square])
    try:
        b = read_txt(txt_of(rings))
    except BoundaryError as exc:
        assert set(exc.codes) <= {"sliver"}  # very thin random stars are refused, cleanly
        return
    expected = Polygon(rings[0], rings[1:])
    spikes = [w for w in b.all_warnings if w.code == "spike"]  # a needle-sharp tip of a thin star reads as a spike
    if not spikes:
        assert b.parcels[0].area_m2 == pytest.approx(expected.area, abs=0.01)
        assert shapely.equals_exact(
            shapely.normalize(b.parcels[0].geometry_gk.geoms[0]), shapely.normalize(expected), tolerance=0.001
        )
    for encoding in ("gbk", "utf-8"):
        assert_same_to_the_millimetre(b, read_txt(write_txt(b, encoding=encoding)))
    assert_same_to_the_millimetre(b, read_mining(write_mining(b).encode()))


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=800),
    name=st.sampled_from(["a.txt", "b.geojson", "c.zip", "d", "e.kml", "f.gpkg", "g.json", "h.shp"]),
)
def test_random_bytes_give_a_clean_error(data, name):
    try:
        read_boundary_bytes(data, name)
    except BoundaryError as exc:
        assert exc.issues and all(i.code and i.message_zh and i.message_en for i in exc.issues)


@settings(max_examples=150, deadline=None)
@given(
    noise=st.lists(
        st.sampled_from(list(",@.[]=\n J1-X9０，＠") + ["3306153.250", "38523680.500", "[地块坐标]", "带号=38"]),
        max_size=80,
    )
)
def test_mangled_txt_gives_a_clean_error(noise):
    try:
        read_txt((HEAD + "".join(noise)).encode())
    except BoundaryError as exc:
        assert exc.issues


@settings(max_examples=150, deadline=None)
@given(
    noise=st.lists(
        st.sampled_from(["1", "-1", "4", "3290700", "38549550", "114.1815", "29.4820", "", "矿", "x", "\n"]),
        max_size=60,
    )
)
def test_mangled_corner_string_gives_a_clean_error(noise):
    try:
        read_mining(",".join(noise).encode())
    except BoundaryError as exc:
        assert exc.issues


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["type", "coordinates", "geometry", "features", "properties"]), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(obj=json_values, kind=st.sampled_from(["Polygon", "Feature", "FeatureCollection", "MultiPolygon", None]))
def test_drawn_garbage_gives_a_clean_error(obj, kind):
    if kind is not None and isinstance(obj, dict):
        obj = {**obj, "type": kind}
    for value in (obj, json.dumps(obj)):
        try:
            read_drawn(value)
        except BoundaryError as exc:
            assert exc.issues
