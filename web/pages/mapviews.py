"""The map of a case or of an intake: its boundary and the check's conflicts over the one map."""

from __future__ import annotations

from typing import Any

import folium
from fastapi import Request

from web.i18n import lang_of
from web.map.builder import build_map, render_parts
from web.pages.common import basemap_of, home_bounds, map_layers


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


VERDICT_STYLE = {"pass": "#1B6E20", "warn": "#B26A00", "block": "#C8102E"}


def as_built_layer(as_built: dict[str, Any], zh: bool) -> folium.GeoJson:
    """Return the completion survey's footprint (coloured by its verdict) and its part outside the plot, with figures."""
    labels = {
        "part": ("图形", "Part"),
        "verdict": ("竣工核验", "Completion check"),
        "built_m2": ("房屋占地（㎡）", "Built (m²)"),
        "outside_m2": ("超出批准范围（㎡）", "Outside the plot (m²)"),
        "over_cap_m2": ("超出面积标准（㎡）", "Over the cap (m²)"),
    }
    figures = {k: as_built.get(k) for k in ("built_m2", "outside_m2", "over_cap_m2")}
    verdict = as_built["verdict"]
    feats = [
        {
            "type": "Feature",
            "geometry": as_built["geometry"],
            "properties": {
                "part": "竣工范围" if zh else "As built",
                "verdict": verdict,
                "kind": "footprint",
                **figures,
            },
        }
    ]
    if as_built.get("outside"):
        feats.append(
            {
                "type": "Feature",
                "geometry": as_built["outside"],
                "properties": {
                    "part": "超出部分" if zh else "Outside",
                    "verdict": verdict,
                    "kind": "outside",
                    **figures,
                },
            }
        )

    def style(f: dict[str, Any]) -> dict[str, Any]:
        color = VERDICT_STYLE[f["properties"]["verdict"]]
        outside = f["properties"]["kind"] == "outside"
        return {
            "color": color,
            "weight": 2 if outside else 3,
            "fillColor": color,
            "fillOpacity": 0.55 if outside else 0.15,
        }

    popup = folium.GeoJsonPopup(
        fields=list(labels), aliases=[v[0 if zh else 1] for v in labels.values()], localize=True
    )
    fc = {"type": "FeatureCollection", "features": feats}
    return folium.GeoJson(fc, name="竣工范围" if zh else "As-built footprint", style_function=style, popup=popup)


def case_map(
    request: Request,
    settings: Any,
    boundary: dict[str, Any] | None,
    report: dict[str, Any] | None,
    draw: bool = False,
    as_built: dict[str, Any] | None = None,
) -> Any:
    """Return the rendered map of a boundary with its conflicts (framed on them), with drawing tools at intake, and
    after a completion visit the as-built footprint coloured by its verdict."""
    lang = lang_of(request)
    m = build_map(
        map_layers(lang, staff=True),  # intake, case and filing pages: staff only
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        boundary=boundary,
        conflicts=conflicts_of(report) if report else None,
        draw_field="boundary_geojson" if draw else None,
        lang=lang,
        home=home_bounds(settings),
        overlays=[as_built_layer(as_built, lang == "zh")] if as_built else [],
    )
    return render_parts(m)
