"""The map of a case or of an intake: its boundary and the check's conflicts over the one map."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from web.i18n import lang_of
from web.map.builder import build_map, render_parts
from web.pages.common import basemap_of, home_bounds, map_layers
from web.session import session_user


def conflicts_of(report: dict[str, Any]) -> dict[str, Any]:
    """Return the report's blocking and warning overlaps as a FeatureCollection for the map (red)."""
    feats = []
    # warnings first, blocking findings last: where both cover the same ground, the block is drawn on top
    for r in sorted(report.get("rules", []), key=lambda r: r["status"] == "block"):
        if r["status"] != "pass" and r.get("geometry"):
            props = {
                "rule": r["rule"],
                "title": r["title"],
                "status": r["status"],
                "overlap_m2": round(r["overlap_m2"], 2),
                "overlap_mu": round(r["overlap_mu"], 4),
                "message": r["message"],
            }
            feats.append({"type": "Feature", "geometry": r["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def case_map(
    request: Request, settings: Any, boundary: dict[str, Any] | None, report: dict[str, Any] | None, draw: bool = False
) -> Any:
    """Return the rendered map of a boundary with its conflicts (framed on them), with drawing tools at intake."""
    lang = lang_of(request)
    m = build_map(
        map_layers(lang, staff=session_user(request) is not None),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        boundary=boundary,
        conflicts=conflicts_of(report) if report else None,
        draw_field="boundary_geojson" if draw else None,
        lang=lang,
        home=home_bounds(settings),
    )
    return render_parts(m)
