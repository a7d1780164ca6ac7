"""A small inline SVG map for printed documents: the boundary and the check's conflicts in the GK zone, no tiles."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gis.boundary.export import numbered_rings
from gis.boundary.geometry import as_multipolygon
from gis.crs import gk_zone_for, to_gk

STYLE = {
    "boundary": ("none", "#1f4e9e", 2.0),
    "warn": ("#e8a200", "#8a5a00", 0.8),
    "block": ("#d0021b", "#8b0000", 0.8),
}


def _polygons(g: BaseGeometry) -> list[Polygon]:
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon):
        return list(g.geoms)
    return [p for part in shapely.get_parts(g) for p in _polygons(part)]


def _nice(length: float) -> float:
    """Return a round scale-bar length (1, 2 or 5 × 10^n) not above `length`."""
    if length <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(length))
    return max(m * exp for m in (1, 2, 5) if m * exp <= length)


def boundary_svg(
    boundary: dict[str, Any],
    conflicts: list[dict[str, Any]] | None = None,
    width: int = 640,
    height: int = 420,
    label_vertices: bool = False,
) -> str:
    """Return an SVG map of a lon/lat boundary (GeoJSON) with conflict overlaps, a scale bar and a north arrow."""
    ll = shape(boundary)
    zone = gk_zone_for(ll)
    gk, _ = to_gk(ll, zone)
    layers = [
        (to_gk(shape(c["geometry"]), zone)[0], c["status"], c.get("title", ""))
        for c in conflicts or []
        if c.get("geometry")
    ]
    minx, miny, maxx, maxy = shapely.union_all([gk, *(g for g, _, _ in layers)]).bounds
    pad, legend_h = 28, 40
    span = max(maxx - minx, maxy - miny, 1.0)
    scale = min(
        (width - 2 * pad) / max(maxx - minx, span * 0.05), (height - 2 * pad - legend_h) / max(maxy - miny, span * 0.05)
    )
    ox = (width - (maxx - minx) * scale) / 2
    oy = (height - legend_h - (maxy - miny) * scale) / 2

    def path(g: BaseGeometry) -> str:
        out = []
        for poly in _polygons(g):
            for ring in (poly.exterior, *poly.interiors):
                pts = [f"{ox + (x - minx) * scale:.1f},{oy + (maxy - y) * scale:.1f}" for x, y in ring.coords[:-1]]
                out.append("M" + " L".join(pts) + " Z")
        return " ".join(out)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="docmap" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="Noto Sans CJK SC, sans-serif" font-size="11">',
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fbfbf8" stroke="#999"/>',
    ]
    for g, status, title in layers:
        fill, stroke, w = STYLE[status if status in STYLE else "warn"]
        parts.append(
            f'<path d="{path(g)}" fill="{fill}" fill-opacity="0.45" fill-rule="evenodd" stroke="{stroke}" '
            f'stroke-width="{w}"><title>{escape(title)}</title></path>'
        )
    fill, stroke, w = STYLE["boundary"]
    parts.append(f'<path d="{path(gk)}" fill="{fill}" fill-rule="evenodd" stroke="{stroke}" stroke-width="{w}"/>')
    if label_vertices:
        n = 0
        for ring in numbered_rings(as_multipolygon(gk)):
            for x, y in ring:
                n += 1
                px, py = ox + (x - minx) * scale, oy + (maxy - y) * scale
                parts.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.2" fill="{stroke}"/>'
                    f'<text x="{px + 4:.1f}" y="{py - 4:.1f}" fill="#111">J{n}</text>'
                )
    # scale bar (bottom left) and north arrow (top right)
    bar_m = _nice((width - 2 * pad) * 0.25 / scale)
    bar_px = bar_m * scale
    y0 = height - 12
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    parts.append(
        f'<path d="M{pad},{y0 - 5} L{pad},{y0} L{pad + bar_px:.1f},{y0} L{pad + bar_px:.1f},{y0 - 5}" fill="none" stroke="#111" stroke-width="1.2"/>'
        f'<text x="{pad + bar_px + 6:.1f}" y="{y0}">{label}</text>'
    )
    nx = width - pad
    parts.append(
        f'<path d="M{nx},{pad - 8} L{nx - 6},{pad + 8} L{nx},{pad + 4} L{nx + 6},{pad + 8} Z" fill="#111"/>'
        f'<text x="{nx - 4}" y="{pad + 22}">N</text>'
    )
    # legend (bottom right)
    legend = [("boundary", "用地范围")] + [
        (s, t) for s, t in (("warn", "需说明"), ("block", "禁止/冲突")) if any(st == s for _, st, _ in layers)
    ]
    x = width - pad
    items = []
    for key, text in reversed(legend):
        fill, stroke, _ = STYLE[key]
        x -= 12 * len(text) + 24
        items.append(
            f'<rect x="{x}" y="{y0 - 10}" width="14" height="10" fill="{fill}" fill-opacity="0.45" stroke="{stroke}"/>'
            f'<text x="{x + 18}" y="{y0}">{text}</text>'
        )
    parts += items
    parts.append(f'<text x="{pad}" y="{y0 - 16}" fill="#555">CGCS2000 3° GK zone {zone}</text>')
    parts.append("</svg>")
    return "".join(parts)
