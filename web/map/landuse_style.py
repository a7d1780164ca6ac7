"""How the one map looks: third-survey land-use colours (web/data/landuse_colors.csv) and the style of every layer kind."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
UNKNOWN_FILL = "#DDDDDD"

# Leaflet path options per style kind (vector tiles). "landuse" is filled per patch from the colour table instead.
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "parcels": {"color": "#333333", "weight": 0.6, "fill": False},
    "basic_farmland": {
        "color": "#C8A000",
        "weight": 1.4,
        "dashArray": "3 3",
        "fill": True,
        "fillColor": "#FFE600",
        "fillOpacity": 0.22,
    },
    "eco_redline": {"color": "#E60000", "weight": 2.2, "fill": True, "fillColor": "#E60000", "fillOpacity": 0.06},
    "urban_boundary": {"color": "#8E44AD", "weight": 2, "dashArray": "10 5", "fill": False},
    "village_boundary": {"color": "#F08C00", "weight": 1.6, "fill": True, "fillColor": "#FDB863", "fillOpacity": 0.15},
    "mining_rights": {"color": "#7B4A24", "weight": 1.6, "fill": True, "fillColor": "#A0642D", "fillOpacity": 0.3},
    "townships": {"color": "#000000", "weight": 2.6, "fill": False},
    "land_price_zones": {"color": "#707070", "weight": 1.4, "dashArray": "6 4", "fill": False},
    "cases_pending": {
        "color": "#1F5FBF",
        "weight": 1.6,
        "dashArray": "5 3",
        "fill": True,
        "fillColor": "#4F8FEF",
        "fillOpacity": 0.18,
    },
    "cases_approved": {"color": "#8B1A89", "weight": 1.8, "fill": True, "fillColor": "#C03CBE", "fillOpacity": 0.22},
    "outline": {"color": "#3366CC", "weight": 1.2, "fill": False},
}
LANDUSE_STYLE: dict[str, Any] = {"fill": True, "fillOpacity": 0.75, "color": "#FFFFFF", "weight": 0.4}
STYLE_KINDS = frozenset(LAYER_STYLES) | {"landuse"}


@cache
def landuse_colors() -> dict[str, str]:
    """Return GB/T 21010 code prefix (2 or 4 characters) → fill colour, from web/data/landuse_colors.csv."""
    with (DATA / "landuse_colors.csv").open(encoding="utf-8") as f:
        return {row["prefix"].strip(): row["fill"].strip().upper() for row in csv.DictReader(f)}


def landuse_fill(code: str | None) -> str:
    """Return the fill colour of a land-use code: its 4-character class, else its 2-character class (suffixes ignored)."""
    code = (code or "").strip()
    colors = landuse_colors()
    return colors.get(code[:4]) or colors.get(code[:2]) or UNKNOWN_FILL


def layer_style(kind: str) -> dict[str, Any]:
    """Return the Leaflet path options of a style kind; unknown kinds are an error, not a silent default."""
    if kind not in STYLE_KINDS:
        raise ValueError(f"未知的图层样式 unknown style kind {kind!r}; known: {', '.join(sorted(STYLE_KINDS))}")
    return dict(LANDUSE_STYLE) if kind == "landuse" else dict(LAYER_STYLES[kind])
