"""The folium map builder: vector-tile layers of the one map, case boundaries and conflicts, all assets local."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.plugins import Draw, MeasureControl, VectorGridProtobuf
from jinja2 import Template

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class MapLayer:
    """A one-map layer as the map shows it: served as vector tiles from our own endpoint."""

    name: str
    title: str
    minzoom: int
    show: bool = True


@dataclass(frozen=True)
class Basemap:
    """The background map: none (the default: the map works without one), any XYZ template, or Tianditu."""

    kind: str = "none"
    url: str | None = None
    attribution: str = ""
    tianditu_key: str | None = None

    def tiles(self) -> tuple[str, str] | None:
        """Return (url template, attribution) or None."""
        if self.kind == "xyz" and self.url:
            return self.url, self.attribution or "basemap"
        if self.kind == "tianditu" and self.tianditu_key:
            url = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
                   "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + self.tianditu_key)  # fmt: skip
            return url, "天地图"
        return None


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for embedding in our own pages: head links, the map's div, and its script."""

    header: str
    html: str
    script: str
    map_id: str


@cache
def landuse_colors() -> dict[str, str]:
    """Return GB/T 21010 code prefix → fill colour (web/data/landuse_colors.csv)."""
    with (DATA / "landuse_colors.csv").open(encoding="utf-8") as f:
        return {row["prefix"]: row["fill"] for row in csv.DictReader(f)}


def _assets(static: str) -> dict[str, list[tuple[str, str]]]:
    v = f"{static}/vendor"
    return {
        "map_js": [("leaflet", f"{v}/leaflet/leaflet.js"), ("landwindow", f"{static}/landwindow-map.js")],
        "map_css": [("leaflet_css", f"{v}/leaflet/leaflet.css"), ("landwindow_css", f"{static}/app.css")],
        "vectorgrid_js": [("vectorGrid", f"{v}/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")],
        "draw_js": [("leaflet_draw_js", f"{v}/leaflet-draw/leaflet.draw.js")],
        "draw_css": [("leaflet_draw_css", f"{v}/leaflet-draw/leaflet.draw.css")],
        "measure_js": [("leaflet_measure_js", f"{v}/leaflet-measure/leaflet-measure.min.js")],
        "measure_css": [("leaflet_measure_css", f"{v}/leaflet-measure/leaflet-measure.css")],
    }


class _Script(MacroElement):
    """Raw JavaScript run after the map and its layers exist (`{map}` and layer names substituted)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self.code = code


def build_map(
    layers: list[MapLayer],
    bounds: tuple[float, float, float, float] | None = None,
    tile_url: str = "/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf",
    static_url: str = "/static",
    basemap: Basemap | None = None,
    boundary: dict[str, Any] | None = None,
    conflicts: dict[str, Any] | None = None,
    draw_field: str | None = None,
    measure: bool = True,
) -> folium.Map:
    """Build the map; every JS/CSS link points at `static_url`, so the page needs no other host."""
    assets = _assets(static_url)
    m = folium.Map(location=None, zoom_start=11, tiles=None, control_scale=True, prefer_canvas=False, max_zoom=22)
    # Per-instance asset lists: folium's class lists (CDN links) are neither used nor changed.
    m.default_js = assets["map_js"]
    m.default_css = assets["map_css"]
    basemap = basemap or Basemap()
    if (tiles := basemap.tiles()) is not None:
        folium.TileLayer(tiles=tiles[0], attr=tiles[1], name="底图 basemap", max_zoom=22, subdomains="01234567").add_to(m)
    m.get_root().header.add_child(Element(f"<script>window.LW = window.LW || {{}}; LW.landuseColors = {json.dumps(landuse_colors())};</script>"))
    grids = []
    for lyr in layers:
        key = json.dumps(lyr.name)
        options = (
            f"{{interactive: true, minZoom: {lyr.minzoom}, maxZoom: 22, maxNativeZoom: 22, "
            f"getFeatureId: function (f) {{ return f.id; }}, vectorTileLayerStyles: {{{key}: LW.style({key})}}}}"
        )
        grid = VectorGridProtobuf(tile_url.format(layer=lyr.name), name=f"{lyr.title}", options=options, show=lyr.show)
        grid.default_js = assets["vectorgrid_js"]
        grid.add_to(m)
        grids.append((grid, lyr))
    if boundary is not None:
        folium.GeoJson(boundary, name="用地范围 boundary",
                       style_function=lambda f: {"color": "#1f5fbf", "weight": 3, "fillOpacity": 0.08, "fillColor": "#1f5fbf"}).add_to(m)  # fmt: skip
    if conflicts is not None and conflicts.get("features"):
        folium.GeoJson(
            conflicts, name="冲突 conflicts",
            style_function=lambda f: {"color": "#c8102e", "weight": 2, "fillColor": "#e4002b", "fillOpacity": 0.55},
            popup=folium.GeoJsonPopup(fields=["rule", "title", "overlap_m2", "overlap_mu", "message"],
                                      aliases=["规则", "图层", "面积(㎡)", "面积(亩)", "说明"], localize=True),
        ).add_to(m)  # fmt: skip
    if draw_field is not None:
        d = Draw(export=False, draw_options={"polyline": False, "circle": False, "marker": False, "circlemarker": False,
                                             "rectangle": True, "polygon": {"allowIntersection": False, "showArea": True}})  # fmt: skip
        d.default_js, d.default_css = assets["draw_js"], assets["draw_css"]
        d.add_to(m)
    if measure:
        mc = MeasureControl(position="topleft", primary_length_unit="meters", primary_area_unit="sqmeters",
                            secondary_area_unit="hectares")  # fmt: skip
        mc.default_js, mc.default_css = assets["measure_js"], assets["measure_css"]
        mc.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    code = [f"LW.bindClick({m.get_name()}, {g.get_name()}, {json.dumps(lyr.title)});" for g, lyr in grids]
    if draw_field is not None:
        code.append(
            f"{m.get_name()}.on('draw:created', function (e) {{ var gj = e.layer.toGeoJSON(); "
            f"var f = document.getElementById({json.dumps(draw_field)}); if (f) f.value = JSON.stringify(gj); "
            f"window.landwindowDrawn = gj; }});"
        )
    if bounds is not None:
        code.append(f"{m.get_name()}.fitBounds([[{bounds[1]}, {bounds[0]}], [{bounds[3]}, {bounds[2]}]]);")
    code.append(f"window.landwindowMap = {m.get_name()};")
    m.add_child(_Script("\n".join(code)))
    return m


def render_parts(m: folium.Map) -> MapParts:
    """Render the map into the pieces our Jinja pages embed (no iframe, no second document)."""
    root = m.get_root()
    root.render()
    # folium's plugin templates carry a few `// see https://…` comments: drop them so the page names no other host
    script = re.sub(r"//[^\n]*https?://[^\n]*", "", root.script.render())
    return MapParts(header=root.header.render(), html=root.html.render(), script=script, map_id=m.get_name())
