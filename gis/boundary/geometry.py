"""Rings to parcels: clean and check each ring, decide holes vs parts by geometry, compute the areas."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.boundary.model import (
    BoundaryIssue,
    BoundaryParcel,
    CountyExtent,
    county_extent,
    error,
    validation_rules,
    warning,
)
from gis.catalog import STORAGE_SRID
from gis.crs import ellipsoidal_area_m2, epsg_3deg, m2_to_ha, m2_to_mu, reproject, zone_3deg

_RULES = validation_rules()
SPIKE_RADIANS = float(_RULES["spike_radians"])
SLIVER_M2 = float(_RULES["sliver_m2"])
SLIVER_COMPACTNESS = float(_RULES["sliver_compactness"])
ZONE_MARGIN_DEG = float(_RULES["zone_margin_deg"])
CLOSURE_GAP_M = float(_RULES["ring_closure_gap_m"])
_REASON_POINT = re.compile(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]")


@dataclass
class Ring:
    """One ring as read: projected points (easting, northing), their source lines, its label and flag."""

    points: list[tuple[float, float]]
    lines: list[int | None] = field(default_factory=list)
    label: str = "1"
    flag: int = 1

    def line_of(self, i: int) -> int | None:
        """Return the source line of point i, if known."""
        return self.lines[i] if 0 <= i < len(self.lines) else None


def _survey_xy(x: float, y: float) -> str:
    # Surveyors read X as northing and Y as easting.
    return f"X={y:.3f}, Y={x:.3f}"


def clean_ring(ring: Ring, parcel_no: str, must_be_closed: bool) -> tuple[Polygon | None, list[BoundaryIssue]]:
    """Check one ring and return it as a polygon (None when it cannot be used) with the issues found."""
    issues: list[BoundaryIssue] = []
    pts, lines = list(ring.points), list(ring.lines) or [None] * len(ring.points)
    first_line = lines[0] if lines else None
    if not pts:
        return None, [
            error("empty_ring", f"第{ring.label}圈没有界址点", f"ring {ring.label} has no points", parcel_no=parcel_no)
        ]
    closed = len(pts) > 1 and pts[0] == pts[-1]
    gap = math.dist(pts[0], pts[-1])
    if not closed and len(pts) > 3 and gap <= CLOSURE_GAP_M:
        # the last point was meant to repeat the first; rounding left a gap of millimetres: snap it shut
        issues.append(
            warning(
                "ring_closed_with_gap",
                f"第{ring.label}圈最后一点与第一点相距 {gap:.3f} 米，已按闭合处理",
                f"ring {ring.label}: its last point lies {gap:.3f} m from the first; closed on the first point",
                line=lines[-1],
                parcel_no=parcel_no,
            )
        )
        pts[-1] = pts[0]
    elif not closed:
        if must_be_closed:
            issues.append(
                error(
                    "ring_not_closed",
                    f"第{ring.label}圈未闭合：最后一点应与第一点相同，实际相距 {gap:.3f} 米",
                    f"ring {ring.label} is not closed: its last point must repeat the first, but lies {gap:.3f} m from it",
                    line=lines[-1],
                    parcel_no=parcel_no,
                )
            )
            return None, issues
        pts, lines = [*pts, pts[0]], [*lines, lines[0]]
    # consecutive duplicates
    keep_p, keep_l = [pts[0]], [lines[0]]
    for p, ln in zip(pts[1:], lines[1:], strict=True):
        if p == keep_p[-1]:
            issues.append(warning("duplicate_point", f"重复界址点 {_survey_xy(*p)} 已忽略", f"duplicate consecutive point {_survey_xy(*p)} ignored",
                                  line=ln, parcel_no=parcel_no))  # fmt: skip
            continue
        keep_p.append(p)
        keep_l.append(ln)
    pts, lines = keep_p, keep_l
    if len(set(pts[:-1])) < 3:
        issues.append(error("too_few_points", f"第{ring.label}圈不足3个不同的界址点", f"ring {ring.label} has fewer than 3 distinct points",
                            line=first_line, parcel_no=parcel_no))  # fmt: skip
        return None, issues
    # spikes: a vertex where the boundary goes out and comes straight back
    changed = True
    while changed and len(pts) > 4:
        changed = False
        for i in range(1, len(pts) - 1):
            ax, ay = pts[i - 1][0] - pts[i][0], pts[i - 1][1] - pts[i][1]
            bx, by = pts[i + 1][0] - pts[i][0], pts[i + 1][1] - pts[i][1]
            na, nb = math.hypot(ax, ay), math.hypot(bx, by)
            if na == 0 or nb == 0:
                continue
            angle = math.acos(max(-1.0, min(1.0, (ax * bx + ay * by) / (na * nb))))
            if angle < SPIKE_RADIANS:
                issues.append(warning("spike", f"界址点 {_survey_xy(*pts[i])} 形成尖刺，已去除", f"point {_survey_xy(*pts[i])} forms a spike and was removed",
                                      line=lines[i], parcel_no=parcel_no))  # fmt: skip
                del pts[i], lines[i]
                if pts[i - 1] == pts[i]:  # the spike went out and came back to the same point
                    del pts[i], lines[i]
                changed = True
                break
    if len(set(pts[:-1])) < 3:
        issues.append(error("too_few_points", f"第{ring.label}圈不足3个不同的界址点", f"ring {ring.label} has fewer than 3 distinct points",
                            line=first_line, parcel_no=parcel_no))  # fmt: skip
        return None, issues
    crossing = first_crossing(pts)
    if crossing is not None:
        i, j, (cx, cy) = crossing
        where = _survey_xy(cx, cy)
        seg_i = _segment_label(lines, i, len(pts) - 1)
        seg_j = _segment_label(lines, j, len(pts) - 1)
        issues.append(error(
            "self_intersection",
            f"第{ring.label}圈自相交：边{seg_i}与边{seg_j}相交于 {where}",
            f"ring {ring.label} intersects itself: edge {seg_i} crosses edge {seg_j} at {where}",
            line=lines[i] if lines[i] is not None else first_line, parcel_no=parcel_no,
        ))  # fmt: skip
        return None, issues
    poly = Polygon(pts)
    compactness = 4 * math.pi * poly.area / poly.length**2 if poly.length else 0.0
    if poly.area < SLIVER_M2 or compactness < SLIVER_COMPACTNESS:
        issues.append(error("sliver", f"第{ring.label}圈面积为零或为细长碎片（{poly.area:.4f} 平方米）",
                            f"ring {ring.label} has (almost) no area ({poly.area:.4f} m²): a sliver", line=first_line, parcel_no=parcel_no))  # fmt: skip
        return None, issues
    return poly, issues


def _segment_label(lines: list[int | None], i: int, n_edges: int) -> str:
    """Name edge i of a closed ring by its source lines (TXT) or its corner numbers."""
    a, b = lines[i], lines[i + 1]
    if a is None or b is None:
        return f"{i + 1}–{(i + 1) % n_edges + 1}"
    return f"L{a}–L{b}"


def first_crossing(pts: list[tuple[float, float]]) -> tuple[int, int, tuple[float, float]] | None:
    """Return (edge i, edge j, crossing point) of the first two edges of a closed ring that cross or overlap."""
    if LinearRing(pts).is_simple:
        return None
    n = len(pts) - 1
    edges = shapely.linestrings([[pts[k], pts[k + 1]] for k in range(n)])
    tree = shapely.STRtree(edges)
    left, right = tree.query(edges, predicate="intersects")
    best: tuple[int, int, tuple[float, float]] | None = None
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if j <= i:
            continue
        hit = shapely.intersection(edges[i], edges[j])
        adjacent = j == i + 1 or (i == 0 and j == n - 1)
        if adjacent and hit.geom_type == "Point":
            continue  # neighbouring edges share their vertex
        if best is None or (i, j) < best[:2]:
            c = shapely.get_coordinates(hit)[0]
            best = (i, j, (float(c[0]), float(c[1])))
    if best is None:  # not simple but no pair found (should not happen): point GEOS's reason
        m = _REASON_POINT.search(shapely.is_valid_reason(Polygon(pts)))
        return (0, 0, (float(m.group(1)), float(m.group(2))) if m else pts[0])
    return best


def check_points(
    points: Sequence[tuple[float, float]],
    lines: Sequence[int | None],
    src_epsg: int | str,
    extent: CountyExtent | None,
    stated_zone: int | None,
    zone_width: int = 3,
    parcel_no: str | None = None,
) -> list[BoundaryIssue]:
    """Check survey points (easting, northing) lie in their stated zone and in the county; name the first that does not."""
    if not points:
        return []
    extent = extent or county_extent()
    lonlat = reproject(shapely.multipoints(points), src_epsg, STORAGE_SRID)
    coords = shapely.get_coordinates(lonlat)
    if stated_zone is not None:
        cm = stated_zone * 3 if zone_width == 3 else stated_zone * 6 - 3
        half = zone_width / 2 + ZONE_MARGIN_DEG
        for (lon, _lat), (e, n), ln in zip(coords.tolist(), points, lines, strict=True):
            if abs(lon - cm) > half:
                return [error(
                    "outside_zone",
                    f"界址点 {_survey_xy(e, n)}（{lon:.4f}°E）不在所述{zone_width}度带第{stated_zone}带（中央经线{cm}°）内，请检查带号和坐标",
                    f"point {_survey_xy(e, n)} ({lon:.4f}°E) lies outside the stated {zone_width}° zone {stated_zone} (CM {cm}°): check the zone and the coordinates",
                    line=ln, field="Y", parcel_no=parcel_no,
                )]  # fmt: skip
    for (lon, lat), (e, n), ln in zip(coords.tolist(), points, lines, strict=True):
        if not extent.contains(lon, lat):
            return [_outside(lon, lat, ln, parcel_no, f"界址点 {_survey_xy(e, n)} ", f"point {_survey_xy(e, n)} ")]
    return []


def _outside(
    lon: float, lat: float, line: int | None, parcel_no: str | None, what_zh: str = "坐标", what_en: str = "coordinate"
) -> BoundaryIssue:
    return error(
        "outside_county", f"{what_zh}({lon:.6f}°E, {lat:.6f}°N) 不在本县范围内，请检查坐标系、带号或X/Y顺序",
        f"{what_en}({lon:.6f}°E, {lat:.6f}°N) lies outside the county: check the CRS, zone or X/Y order",
        line=line, parcel_no=parcel_no,
    )  # fmt: skip


def assemble(
    polys: list[Polygon], parcel_no: str, line: int | None = None
) -> tuple[MultiPolygon | None, list[BoundaryIssue]]:
    """Decide by geometry which rings are holes (inside another ring) and which are separate parts."""
    order = sorted(range(len(polys)), key=lambda i: -polys[i].area)
    placed: list[int] = []
    depth: dict[int, int] = {}
    parent: dict[int, int] = {}
    for i in order:
        containers = []
        for j in placed:
            if polys[j].contains(polys[i]):
                containers.append(j)
            elif polys[j].intersects(polys[i]) and not polys[j].touches(polys[i]):
                return None, [error("rings_overlap", "两个圈部分重叠，既不是洞也不是独立部分",
                                    "two rings partly overlap: neither a hole nor a separate part", line=line, parcel_no=parcel_no)]  # fmt: skip
        depth[i] = len(containers)
        if containers:
            parent[i] = min(containers, key=lambda j: polys[j].area)
        placed.append(i)
    shells = [i for i in order if depth[i] % 2 == 0]
    parts = []
    for s in shells:
        holes = [polys[h].exterior.coords for h in order if depth[h] % 2 == 1 and parent.get(h) == s]
        parts.append(Polygon(polys[s].exterior.coords, holes))
    geom = MultiPolygon(parts)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        return None, [
            error(
                "invalid_geometry",
                f"地块几何无效：{reason}",
                f"the parcel's geometry is invalid: {reason}",
                line=line,
                parcel_no=parcel_no,
            )
        ]
    return geom, []


def _first_outside(geom: BaseGeometry, extent: CountyExtent) -> tuple[float, float] | None:
    for x, y in shapely.get_coordinates(geom):
        if not extent.contains(float(x), float(y)):
            return float(x), float(y)
    return None


def finish(
    geom_src: MultiPolygon,
    src_epsg: int | str,
    parcel_no: str,
    name: str,
    extent: CountyExtent | None = None,
    line: int | None = None,
    **meta: Any,
) -> tuple[BoundaryParcel | None, list[BoundaryIssue]]:
    """Reproject a parcel to storage and to its 3° zone, check the county extent and compute its areas."""
    extent = extent or county_extent()
    ll = reproject(geom_src, src_epsg, STORAGE_SRID)
    outside = _first_outside(ll, extent)
    if outside is not None:
        return None, [_outside(outside[0], outside[1], line, parcel_no, "坐标 ", "coordinate ")]
    zone = zone_3deg(ll.centroid.x)
    gk_epsg = epsg_3deg(zone)
    gk = geom_src if src_epsg == gk_epsg else reproject(ll, STORAGE_SRID, gk_epsg)
    area = float(gk.area)
    return BoundaryParcel(
        parcel_no=parcel_no,
        name=name,
        geometry=as_multipolygon(ll),
        geometry_gk=as_multipolygon(gk),
        zone=zone,
        area_m2=area,
        area_ha=m2_to_ha(area),
        area_mu=m2_to_mu(area),
        ellipsoidal_area_m2=ellipsoidal_area_m2(ll),
        **meta,
    ), []


def as_multipolygon(g: BaseGeometry) -> MultiPolygon:
    """Return the polygonal parts of a geometry as one MultiPolygon."""
    if isinstance(g, MultiPolygon):
        return g
    if isinstance(g, Polygon):
        return MultiPolygon([g])
    return MultiPolygon([p for p in shapely.get_parts(g) if isinstance(p, Polygon)])
