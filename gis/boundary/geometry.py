"""Rings to parcels: clean and check each ring, decide holes vs parts by geometry, compute the areas."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LinearRing, LineString, MultiPolygon, Polygon
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
from gis.limits import UploadLimits, upload_limits

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
    cap = upload_limits().ring_points
    if len(pts) - closed > cap:  # the first point past the cap names the line
        return None, [too_many_ring_points(len(pts) - closed, ring.label, upload_limits(), lines[cap], parcel_no)]
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
    if len(pts) > 4 and _has_spike(pts):
        pts, lines, spikes = _remove_spikes(pts, lines)
        for p, ln in spikes:
            zh, en = (
                f"界址点 {_survey_xy(*p)} 形成尖刺，已去除",
                f"point {_survey_xy(*p)} forms a spike and was removed",
            )
            issues.append(warning("spike", zh, en, line=ln, parcel_no=parcel_no))
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


def too_many_points(limits: UploadLimits, line: int | None = None, field: str | None = None) -> BoundaryIssue:
    """Return the error of a file with more points than the limit (the line or feature where the count passes it)."""
    return error(
        "too_many_points",
        f"文件的界址点超过上限 {limits.points} 个",
        f"the file has more than the limit of {limits.points} points",
        line=line,
        field=field,
    )


def too_many_lines(limits: UploadLimits) -> BoundaryIssue:
    """Return the error of a text file with more lines than the limit."""
    return error("too_many_lines", f"文件超过 {limits.lines} 行", f"the file has more than {limits.lines} lines")


def too_many_parcels(limits: UploadLimits, line: int | None = None) -> BoundaryIssue:
    """Return the error of a file with more parcels (features) than the limit."""
    return error(
        "too_many_parcels",
        f"文件的地块（要素）超过上限 {limits.features} 个",
        f"the file holds more than the limit of {limits.features} parcels (features)",
        line=line,
    )


def too_many_rings(
    count: int, limits: UploadLimits, line: int | None, parcel_no: str | None, field: str | None = None
) -> BoundaryIssue:
    """Return the error of a parcel with more rings than the limit."""
    return error(
        "too_many_rings",
        f"地块有 {count} 个圈，超过每地块上限 {limits.parcel_rings} 个",
        f"the parcel has {count} rings, more than the limit of {limits.parcel_rings} per parcel",
        line=line,
        field=field,
        parcel_no=parcel_no,
    )


def too_many_ring_points(
    count: int, label: str, limits: UploadLimits, line: int | None, parcel_no: str | None, field: str | None = None
) -> BoundaryIssue:
    """Return the error of a ring with more points than the limit."""
    return error(
        "too_many_ring_points",
        f"第{label}圈有 {count} 个界址点，超过每圈上限 {limits.ring_points} 个",
        f"ring {label} has {count} points, more than the limit of {limits.ring_points} per ring",
        line=line,
        field=field,
        parcel_no=parcel_no,
    )


def check_sizes(
    geoms: Sequence[BaseGeometry | None], parcel_nos: Sequence[str], limits: UploadLimits
) -> list[BoundaryIssue]:
    """Refuse features with more points or rings than the limits, counted in one vectorised pass before any check."""
    arr = np.asarray([g if g is not None else Polygon() for g in geoms], dtype=object)
    points = shapely.get_num_coordinates(arr)
    if int(points.sum()) > limits.points:
        k = int(np.searchsorted(np.cumsum(points), limits.points, side="right"))
        return [too_many_points(limits, field=f"feature {k + 1}")]
    parts, owner = shapely.get_parts(arr, return_index=True)
    polygon = shapely.get_type_id(parts) == int(shapely.GeometryType.POLYGON)
    parts, owner = parts[polygon], owner[polygon]
    rings_of = np.bincount(owner, weights=1 + shapely.get_num_interior_rings(parts), minlength=len(arr))
    for k in np.flatnonzero(rings_of > limits.parcel_rings)[:1].tolist():
        return [too_many_rings(int(rings_of[k]), limits, None, parcel_nos[k], field=f"feature {k + 1}")]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_owner = owner[ring_part]
    corners = shapely.get_num_coordinates(rings) - 1  # the closing point repeats the first
    for r in np.flatnonzero(corners > limits.ring_points)[:1].tolist():
        k = int(ring_owner[r])
        label = str(r - int(np.argmax(ring_owner == k)) + 1)  # rings numbered through the feature
        return [too_many_ring_points(int(corners[r]), label, limits, None, parcel_nos[k], field=f"feature {k + 1}")]
    return []


def _spike_angle(a: tuple[float, float], m: tuple[float, float], b: tuple[float, float]) -> float | None:
    """Return the angle at m between its edges to a and b (radians), None when an edge has no length."""
    ax, ay = a[0] - m[0], a[1] - m[1]
    bx, by = b[0] - m[0], b[1] - m[1]
    na, nb = math.hypot(ax, ay), math.hypot(bx, by)
    if na == 0 or nb == 0:
        return None
    return math.acos(max(-1.0, min(1.0, (ax * bx + ay * by) / (na * nb))))


def _has_spike(pts: list[tuple[float, float]]) -> bool:
    """Return whether any vertex between the first and the closing one may be a spike (one vectorised pass)."""
    xy = np.asarray(pts, dtype=float)
    a, b = xy[:-2] - xy[1:-1], xy[2:] - xy[1:-1]
    na, nb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
    ok = (na > 0) & (nb > 0)
    cos = np.einsum("ij,ij->i", a[ok], b[ok]) / (na[ok] * nb[ok])
    # a little wider than the rule: the exact pass below decides, with the same arithmetic as always
    return bool((np.arccos(np.clip(cos, -1.0, 1.0)) < SPIKE_RADIANS * 1.01).any())


def _remove_spikes(
    pts: list[tuple[float, float]], lines: list[int | None]
) -> tuple[list[tuple[float, float]], list[int | None], list[tuple[tuple[float, float], int | None]]]:
    """Remove spikes first to last as they appear, a removal re-examining the vertex before it; one pass, linear.

    A ring keeps at least four points (three corners and the closing one); the first point is never removed.
    """
    out_p, out_l = [pts[0]], [lines[0]]
    removed: list[tuple[tuple[float, float], int | None]] = []
    n = len(pts)
    for i in range(1, n):
        p = pts[i]
        keep = True
        while len(out_p) >= 2 and len(out_p) + n - i > 4:
            angle = _spike_angle(out_p[-2], out_p[-1], p)
            if angle is None or angle >= SPIKE_RADIANS:
                break
            removed.append((out_p.pop(), out_l.pop()))
            if out_p[-1] == p:  # the spike went out and came back to the same point
                keep = False
                break
        if keep:
            out_p.append(p)
            out_l.append(lines[i])
    return out_p, out_l, removed


def _segment_label(lines: list[int | None], i: int, n_edges: int) -> str:
    """Name edge i of a closed ring by its source lines (TXT) or its corner numbers."""
    a, b = lines[i], lines[i + 1]
    if a is None or b is None:
        return f"{i + 1}–{(i + 1) % n_edges + 1}"
    return f"L{a}–L{b}"


def first_crossing(pts: list[tuple[float, float]]) -> tuple[int, int, tuple[float, float]] | None:
    """Return (edge i, edge j, crossing point) of a closed ring's first crossing, None when the ring is simple.

    Edge j is the first edge, walking the ring, that crosses, touches or overlaps an edge drawn before it (edge i, the
    first such). Found by halving: GEOS tells in near-linear time whether the open line through the first k edges is
    simple, so a ring of thousands of points, every edge crossing others, takes milliseconds.
    """
    if LinearRing(pts).is_simple:
        return None
    n = len(pts) - 1
    lo, hi = 1, n - 1  # the line of edges 0..hi is not simple (hi = n - 1: the closed ring); 0..0 is one segment
    while lo < hi:
        mid = (lo + hi) // 2
        if LineString(pts[: mid + 2]).is_simple:
            lo = mid + 1
        else:
            hi = mid
    j = hi
    xy = np.asarray(pts, dtype=float)
    edges = np.asarray(shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)), dtype=object)
    for i in np.flatnonzero(shapely.intersects(edges[:j], edges[j])).tolist():
        hit = shapely.intersection(edges[i], edges[j])
        adjacent = i == j - 1 or (i == 0 and j == n - 1)
        if adjacent and hit.geom_type == "Point":
            continue  # neighbouring edges share their vertex
        c = shapely.get_coordinates(hit)[0]
        return i, j, (float(c[0]), float(c[1]))
    # not simple but no pair found (should not happen): the edges through the point GEOS names
    m = _REASON_POINT.search(shapely.is_valid_reason(Polygon(pts)))
    where = (float(m.group(1)), float(m.group(2))) if m else pts[0]
    through = np.flatnonzero(shapely.dwithin(edges, shapely.Point(where), 1e-6)).tolist()
    return (through[0], through[-1], where) if through else (0, 0, where)


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
        for k in np.flatnonzero(np.abs(coords[:, 0] - cm) > half)[:1].tolist():
            lon, (e, n), ln = float(coords[k, 0]), points[k], lines[k]
            return [error(
                "outside_zone",
                f"界址点 {_survey_xy(e, n)}（{lon:.4f}°E）不在所述{zone_width}度带第{stated_zone}带（中央经线{cm}°）内，请检查带号和坐标",
                f"point {_survey_xy(e, n)} ({lon:.4f}°E) lies outside the stated {zone_width}° zone {stated_zone} (CM {cm}°): check the zone and the coordinates",
                line=ln, field="Y", parcel_no=parcel_no,
            )]  # fmt: skip
    for k in _outside_extent(coords, extent)[:1].tolist():
        (lon, lat), (e, n), ln = coords[k].tolist(), points[k], lines[k]
        return [_outside(lon, lat, ln, parcel_no, f"界址点 {_survey_xy(e, n)} ", f"point {_survey_xy(e, n)} ")]
    return []


def _outside_extent(coords: np.ndarray, extent: CountyExtent) -> np.ndarray:
    """Return the indexes of the lon/lat rows that lie outside the extent (NaN included), in order."""
    lon, lat = coords[:, 0], coords[:, 1]
    inside = (extent.lon_min <= lon) & (lon <= extent.lon_max) & (extent.lat_min <= lat) & (lat <= extent.lat_max)
    return np.flatnonzero(~inside)


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
    rank = np.empty(len(polys), dtype=np.int64)
    rank[order] = np.arange(len(polys))
    rings = np.asarray(polys, dtype=object)
    shapely.prepare(rings)
    # only rings that meet matter: each pair once, the larger (placed first) as the container
    bigger, smaller = shapely.STRtree(rings).query(rings, predicate="intersects")
    pair = rank[bigger] < rank[smaller]
    bigger, smaller = bigger[pair], smaller[pair]
    inside = shapely.contains(rings[bigger], rings[smaller])
    if (~inside & ~shapely.touches(rings[bigger], rings[smaller])).any():
        return None, [
            error(
                "rings_overlap",
                "两个圈部分重叠，既不是洞也不是独立部分",
                "two rings partly overlap: neither a hole nor a separate part",
                line=line,
                parcel_no=parcel_no,
            )
        ]
    depth: dict[int, int] = dict.fromkeys(range(len(polys)), 0)
    parent: dict[int, int] = {}
    for j, i in sorted(zip(bigger[inside].tolist(), smaller[inside].tolist(), strict=True), key=lambda ji: rank[ji[0]]):
        depth[i] += 1
        if i not in parent or polys[j].area < polys[parent[i]].area:
            parent[i] = j
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
    coords = shapely.get_coordinates(geom)
    for k in _outside_extent(coords, extent)[:1].tolist():
        return float(coords[k, 0]), float(coords[k, 1])
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
