"""The folium map builder: vector-tile layers of the one map, case boundaries and conflicts, all assets local.

folium pulls Leaflet, jQuery, Bootstrap and its plugins from CDNs through the class attributes `default_js` and
`default_css` of `Map` and of each plugin. `OfflineMap` replaces them per instance, just before rendering, for itself
and every element on it, from the files scripts/vendor-assets put in web/static/vendor; folium's class lists are never
changed, so maps built in other threads or by other code are unaffected. An element that needs an asset we do not
ship (awesome-markers icons, TopoJSON, Vega, …) is an `OfflineAssetError`, not a silent CDN link.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Draw, MeasureControl, VectorGridProtobuf
from jinja2 import Template

from web.map.landuse_style import STYLE_KINDS, UNKNOWN_FILL, landuse_colors, layer_style

__all__ = [
    "Basemap",
    "MapLayer",
    "MapParts",
    "OfflineAssetError",
    "OfflineMap",
    "build_map",
    "landuse_colors",
    "map_html",
    "popup_layer",
    "popup_text",
    "render_parts",
]

DEFAULT_TILE_URL = "/tiles/{layer}/{z}/{x}/{y}.pbf"
LAYERS_TILE_URL = "/tiles/{z}/{x}/{y}.pbf"
"""Every layer of a tile in one MVT (`?layers=a,b`): the map fetches each tile once for all its layers."""
MAX_ZOOM = 22
CHINA = (73.0, 18.0, 136.0, 54.0)
"""(lon_min, lat_min, lon_max, lat_max) of mainland China: the view of a map with nothing to frame and no home."""

# folium's asset keys → our files under <static>/vendor (see web/static/vendor/VERSIONS.txt)
VENDORED: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "vectorGrid": "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
    "leaflet_measure_js": "leaflet-measure/leaflet-measure.min.js",
    "leaflet_measure_css": "leaflet-measure/leaflet-measure.css",
}

TIANDITU = {  # style → (base layer, annotation layer)
    "vec": ("vec", "cva"),
    "img": ("img", "cia"),
    "ter": ("ter", "cta"),
}
TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


class OfflineAssetError(RuntimeError):
    """A map element needs a JS/CSS file that is not vendored under web/static/vendor."""


@dataclass(frozen=True)
class MapLayer:
    """A one-map layer as the map shows it: vector tiles from our own endpoint.

    `name` is the layer's name in the tile URL and inside the MVT; `title` is shown (Chinese); tiles are requested
    from `minzoom` up; `url` overrides build_map's tile URL template (`{layer}`, `{z}`, `{x}`, `{y}`), and `batch`
    is then the combined URL (`{z}`, `{x}`, `{y}`, `?layers=`) its tiles are fetched from together with the other
    layers of that URL; `style` is a style kind from web/landuse_style.py, by default the layer's name if that is a
    kind, else "outline".
    """

    name: str
    title: str
    minzoom: int
    show: bool = True
    url: str | None = None
    style: str | None = None
    batch: str | None = None

    @property
    def style_kind(self) -> str:
        """Return the style kind this layer is drawn with."""
        if self.style is not None:
            return self.style
        return self.name if self.name in STYLE_KINDS else "outline"


@dataclass(frozen=True)
class Basemap:
    """The background map: none (the default: the map works without one), any XYZ template, or Tianditu with a key."""

    kind: str = "none"
    url: str | None = None
    attribution: str = ""
    tianditu_key: str | None = None
    tianditu_style: str = "vec"

    def layers(self) -> list[tuple[str, str, str]]:
        """Return the tile layers to add as (url template, attribution, title); empty for no basemap."""
        if self.kind == "xyz" and self.url:
            return [(self.url, self.attribution or "底图", "底图")]
        if self.kind == "tianditu" and self.tianditu_key:
            base, note = TIANDITU[self.tianditu_style]
            attr = "天地图 国家地理信息公共服务平台"
            return [
                (TIANDITU_URL.format(layer=base, key=self.tianditu_key), attr, "天地图"),
                (TIANDITU_URL.format(layer=note, key=self.tianditu_key), attr, "天地图注记"),
            ]
        return []

    def tiles(self) -> tuple[str, str] | None:
        """Return (url template, attribution) of the main basemap layer, or None."""
        layers = self.layers()
        return (layers[0][0], layers[0][1]) if layers else None


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for embedding in our own pages: head links, the map's div, and its script."""

    header: str
    html: str
    script: str
    map_id: str


class _Script(MacroElement):
    """Raw JavaScript run where the element sits among the map's children."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self.code = code


class OfflineMap(folium.Map):
    """A folium Map that loads Leaflet, its plugins and our map helpers from `static_url` only."""

    def __init__(self, *args: Any, static_url: str = "/static", **kwargs: Any) -> None:
        self.static_url = static_url.rstrip("/")
        super().__init__(*args, **kwargs)
        self.localize_assets()

    def render(self, **kwargs: Any) -> None:
        """Point every element's assets at our static files, then render as folium does."""
        self.localize_assets()
        super().render(**kwargs)

    def localize_assets(self) -> None:
        """Replace, per instance, the CDN asset lists of this map and of every element on it."""
        vendor = f"{self.static_url}/vendor"
        jquery = False
        for el in _walk(self):
            if isinstance(el, folium.Icon):
                raise OfflineAssetError(
                    "folium.Icon needs awesome-markers and Font Awesome, which are not vendored: "
                    "use a plain Marker, CircleMarker or a DivIcon"
                )
            # folium's Popup template and non-embedded GeoJson call jQuery's $
            jquery |= isinstance(el, folium.Popup) or (isinstance(el, folium.GeoJson) and not el.embed)
            if el is not self and isinstance(el, JSCSSMixin):
                el.default_js = [self._local(el, key, url) for key, url in el.default_js]
                el.default_css = [self._local(el, key, url) for key, url in el.default_css]
        js = [("leaflet", f"{vendor}/{VENDORED['leaflet']}")]
        if jquery:
            js.append(("jquery", f"{vendor}/{VENDORED['jquery']}"))
        js.append(("landwindow", f"{self.static_url}/landwindow-map.js"))
        # no bootstrap, glyphicons, awesome-markers or Font Awesome: we use no folium icons
        self.default_js = js
        self.default_css = [
            ("leaflet_css", f"{vendor}/{VENDORED['leaflet_css']}"),
            ("landwindow_css", f"{self.static_url}/app.css"),
        ]

    def _local(self, el: Any, key: str, url: str) -> tuple[str, str]:
        if url.startswith(self.static_url + "/"):
            return key, url
        if key in VENDORED:
            return key, f"{self.static_url}/vendor/{VENDORED[key]}"
        raise OfflineAssetError(
            f"{type(el).__name__} loads {key!r} from {url}, which is not vendored (scripts/vendor-assets)"
        )


def _walk(el: Any) -> Iterator[Any]:
    yield el
    for child in list(getattr(el, "_children", {}).values()):
        yield from _walk(child)


def _tile_url(template: str, layer: str) -> str:
    # accepts "/tiles/{layer}/{z}/{x}/{y}.pbf" and the str.format-escaped "/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"
    return template.replace("{layer}", layer).replace("{{", "{").replace("}}", "}")


def _as_layer(layer: MapLayer | Mapping[str, Any]) -> MapLayer:
    lyr = layer if isinstance(layer, MapLayer) else MapLayer(**layer)
    if lyr.style_kind not in STYLE_KINDS:
        layer_style(lyr.style_kind)  # raises with the list of known kinds
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", lyr.name):
        raise ValueError(f"图层名只能用字母、数字和 _.- / layer name {lyr.name!r} must be [A-Za-z0-9_.-]+")
    return lyr


def _coords(obj: Any) -> Iterator[tuple[float, float]]:
    if isinstance(obj, Mapping):
        if obj.get("type") == "FeatureCollection":
            for f in obj.get("features") or []:
                yield from _coords(f)
        elif obj.get("type") == "Feature":
            yield from _coords(obj.get("geometry"))
        elif obj.get("type") == "GeometryCollection":
            for g in obj.get("geometries") or []:
                yield from _coords(g)
        elif "coordinates" in obj:
            yield from _coords(obj["coordinates"])
    elif isinstance(obj, Sequence) and not isinstance(obj, str) and obj:
        if isinstance(obj[0], int | float):
            yield float(obj[0]), float(obj[1])
        else:
            for part in obj:
                yield from _coords(part)


def _bbox(*geojson: Any) -> tuple[float, float, float, float] | None:
    pts = [p for g in geojson if g for p in _coords(g)]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pad = max(max(xs) - min(xs), max(ys) - min(ys)) * 0.15 + 0.0005
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def bounds_of(*geojson: Any) -> tuple[float, float, float, float] | None:
    """Return the padded (lon_min, lat_min, lon_max, lat_max) of GeoJSON objects, or None when they are empty."""
    return _bbox(*geojson)


# Shared page helpers, defined once in <head> (nothing here runs before Leaflet has loaded).
_HEAD_JS = """<script>
window.LW = window.LW || {};
LW.landuseColors = %(colors)s;
LW.fid = function (f) {
  if (f.properties) Object.defineProperty(f.properties, "_lwId", {value: f.id, configurable: true});
  return f.id;
};
LW.landuseStyle = function (p) {
  var c = String(p.dlbm || ""), t = LW.landuseColors, s = %(landuse)s;
  s.fillColor = t[c.slice(0, 4)] || t[c.slice(0, 2)] || %(unknown)s;
  return s;
};
</script>"""

_DRAW_ZH = """(function (d) {
  d.draw.toolbar.actions = {title: "取消绘制", text: "取消"};
  d.draw.toolbar.finish = {title: "完成绘制", text: "完成"};
  d.draw.toolbar.undo = {title: "删除最后一个点", text: "删除最后一点"};
  d.draw.toolbar.buttons.polygon = "绘制用地范围（多边形）";
  d.draw.toolbar.buttons.rectangle = "绘制矩形范围";
  d.draw.handlers.polygon.tooltip = {start: "单击地图开始绘制", cont: "单击继续添加界址点", end: "单击第一个点闭合范围"};
  d.draw.handlers.polyline.error = "<strong>错误：</strong>边界不能自相交！";
  d.draw.handlers.rectangle.tooltip = {start: "按住鼠标拖动绘制矩形"};
  d.draw.handlers.simpleshape.tooltip = {end: "松开鼠标完成绘制"};
  d.edit.toolbar.actions.save = {title: "保存修改", text: "保存"};
  d.edit.toolbar.actions.cancel = {title: "取消编辑，放弃修改", text: "取消"};
  d.edit.toolbar.actions.clearAll = {title: "清除全部图形", text: "全部清除"};
  d.edit.toolbar.buttons = {edit: "修改范围", editDisabled: "没有可修改的范围", remove: "删除范围", removeDisabled: "没有可删除的范围"};
  d.edit.handlers.edit.tooltip = {text: "拖动界址点修改范围", subtext: "点击“取消”放弃修改"};
  d.edit.handlers.remove.tooltip = {text: "点击要删除的范围"};
})(L.drawLocal);"""

# The drawn boundary (one polygon at a time) goes into the hidden form field and to window.landwindowDrawn(geojson)
# if the page defines it; LW.drawn always holds the latest GeoJSON Feature (null once deleted).
_DRAW_HANDOFF = """(function (map, drawn, fieldId) {
  function publish() {
    var gj = null;
    drawn.eachLayer(function (l) { gj = l.toGeoJSON(); });
    LW.drawn = gj;
    var field = fieldId && document.getElementById(fieldId);
    if (field) { field.value = gj ? JSON.stringify(gj) : ""; field.dispatchEvent(new Event("change", {bubbles: true})); }
    if (typeof window.landwindowDrawn === "function") window.landwindowDrawn(gj);
  }
  map.on(L.Draw.Event.CREATED, function (e) {
    drawn.eachLayer(function (l) { if (l !== e.layer) drawn.removeLayer(l); });
    drawn.addLayer(e.layer);
    publish();
  });
  map.on(L.Draw.Event.EDITED + " " + L.Draw.Event.DELETED, publish);
})(%s, %s, %s);"""

# Click on a vector-tile feature: LW.bindClick (landwindow-map.js) opens the attribute popup; here the feature is
# highlighted across every tile it spans until the popup closes.
_HIGHLIGHT = """(function (map, grids) {
  var hl = {color: "#00B4FF", weight: 3, fill: true, fillColor: "#00B4FF", fillOpacity: 0.25}, current = null;
  function reset() { if (current) { current[0].resetFeatureStyle(current[1]); current = null; } }
  grids.forEach(function (g) {
    g.on("click", function (e) {
      reset();
      var id = e.layer && e.layer.properties ? e.layer.properties._lwId : undefined;
      if (id !== undefined && id !== null) { g.setFeatureStyle(id, hl); current = [g, id]; }
    });
  });
  map.on("popupclose", reset);
})(%s, [%s]);"""


def build_map(
    layers: Sequence[MapLayer | Mapping[str, Any]],
    bounds: tuple[float, float, float, float] | None = None,
    tile_url: str = DEFAULT_TILE_URL,
    static_url: str = "/static",
    layers_url: str | None = LAYERS_TILE_URL,
    basemap: Basemap | None = None,
    boundary: Mapping[str, Any] | None = None,
    conflicts: Mapping[str, Any] | None = None,
    draw_field: str | None = None,
    measure: bool = True,
    *,
    center: tuple[float, float] | None = None,
    zoom: int = 15,
    draw: bool | None = None,
    scale: bool = True,
    layer_control: bool = True,
    lang: str = "zh",
    renderer: str = "canvas",
    overlays: Sequence[folium.Layer] = (),
    home: tuple[float, float, float, float] | None = None,
) -> OfflineMap:
    """Build the one map; every JS/CSS link points at `static_url`, so the page needs no other host.

    `bounds` is (lon_min, lat_min, lon_max, lat_max) and `center` is (lon, lat), both EPSG:4490 ≈ WGS 84; with
    neither, the view fits the boundary and conflicts, else the county extent. `draw` (default: on when `draw_field`
    is given) adds leaflet-draw; the drawn polygon goes to the element with id `draw_field` as GeoJSON.
    `renderer` draws vector tiles on "canvas" (thousands of parcels stay fast) or as "svg" paths. `overlays` are
    further folium layers (e.g. the planner's conversions), added above the conflicts and listed in the layer control.
    `home` is the view when there is nothing to frame (the county profile's extent); without it, all of China.
    The layers without their own `url` fetch each tile once for all of them from `layers_url` (None: one request per
    layer and tile from `tile_url`).
    """
    zh = lang == "zh"
    grids_spec = [_as_layer(lyr) for lyr in layers]
    if center is not None and not (-90 <= center[1] <= 90 and -180 <= center[0] <= 180):
        raise ValueError(f"center must be (lon, lat), got {center}")
    if center is None and bounds is None:
        bounds = _bbox(boundary, conflicts) or home or CHINA
    if center is None:
        assert bounds is not None
        location = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    else:
        location = [center[1], center[0]]
    m = OfflineMap(
        location=location,
        zoom_start=zoom if center is not None else 11,
        tiles=None,
        control_scale=False,
        max_zoom=MAX_ZOOM,
        static_url=static_url,
    )
    m.get_root().header.add_child(
        Element(
            _HEAD_JS
            % {
                "colors": json.dumps(landuse_colors()),
                "landuse": json.dumps(layer_style("landuse")),
                "unknown": json.dumps(UNKNOWN_FILL),
            }
        ),
        name="landwindow_head",
    )

    if center is None:
        # framed before any layer is added: tiles are fetched once, at the zoom the clerk will see
        assert bounds is not None
        m.add_child(_Script(f"{m.get_name()}.fitBounds([[{bounds[1]}, {bounds[0]}], [{bounds[3]}, {bounds[2]}]]);"))

    for url, attribution, title in (basemap or Basemap()).layers():
        folium.TileLayer(
            tiles=url,
            attr=attribution,
            name=title,
            overlay=False,
            control=False,
            max_zoom=MAX_ZOOM,
            subdomains="01234567",
        ).add_to(m)

    if layers_url is not None and grids_spec:
        m.add_child(_Script("LW.batchTiles();"))  # before the first grid asks for a tile
    grids = []
    for lyr in grids_spec:
        key = json.dumps(lyr.name)
        style = "LW.landuseStyle" if lyr.style_kind == "landuse" else json.dumps(layer_style(lyr.style_kind))
        factory = "rendererFactory: L.canvas.tile, " if renderer == "canvas" else ""
        combined = lyr.batch if lyr.url is not None else layers_url
        batch = (
            f"lwTiles: {json.dumps(_tile_url(combined, lyr.name))}, lwLayer: {key}, "
            if layers_url is not None and combined is not None
            else ""
        )
        options = (
            f"{{interactive: true, {factory}{batch}minZoom: {int(lyr.minzoom)}, maxZoom: {MAX_ZOOM}, "
            f"getFeatureId: LW.fid, vectorTileLayerStyles: {{{key}: {style}}}}}"
        )
        grid = VectorGridProtobuf(
            _tile_url(lyr.url or tile_url, lyr.name), name=lyr.title, options=options, show=lyr.show
        )
        grid.add_to(m)
        grids.append((grid, lyr))

    if boundary is not None:
        folium.GeoJson(
            dict(boundary),
            name="申请用地范围" if zh else "Application boundary",
            interactive=False,
            style_function=lambda f: {"color": "#1F5FBF", "weight": 3, "fillColor": "#1F5FBF", "fillOpacity": 0.06},
        ).add_to(m)
    if conflicts is not None and conflicts.get("features"):
        _conflicts(conflicts, zh).add_to(m)
    for overlay in overlays:
        overlay.add_to(m)

    drawn = None
    if draw is None:
        draw = draw_field is not None
    if draw:
        if zh:
            m.add_child(_Script(_DRAW_ZH))
        drawn = folium.FeatureGroup(name="绘制的范围", control=False).add_to(m)
        Draw(
            feature_group=drawn,
            show_geometry_on_click=False,
            position="topleft",
            draw_options={
                "polyline": False,
                "circle": False,
                "marker": False,
                "circlemarker": False,
                "rectangle": True,
                "polygon": {"allowIntersection": False, "showArea": True, "metric": True},
            },
            edit_options={"poly": {"allowIntersection": False}},
        ).add_to(m)
    if measure:
        MeasureControl(
            position="topleft",
            primary_length_unit="meters",
            secondary_length_unit="kilometers",
            primary_area_unit="sqmeters",
            secondary_area_unit="mu" if zh else "hectares",
            localization="cn" if zh else "en",
            active_color="#1F5FBF",
            completed_color="#C8102E",
            units={"mu": {"factor": 0.0015, "display": "亩", "decimals": 2}},
        ).add_to(m)
    if layer_control:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)

    name = m.get_name()
    code = [f"LW.bindClick({name}, {g.get_name()}, {json.dumps(lyr.title)});" for g, lyr in grids]
    if grids:
        code.append(_HIGHLIGHT % (name, ", ".join(g.get_name() for g, _ in grids)))
    if drawn is not None:
        code.append(_DRAW_HANDOFF % (name, drawn.get_name(), json.dumps(draw_field)))
    if scale:
        code.append(f"L.control.scale({{imperial: false, metric: true, position: 'bottomleft'}}).addTo({name});")
    code.append(f"window.landwindowMap = {name};")
    m.add_child(_Script("\n".join(code)))
    return m


def popup_text(value: Any) -> Any:
    """Return a value as a popup or tooltip may show it: text HTML-escaped (folium writes popups and tooltips with
    innerHTML), lists and objects escaped inside, numbers and empty values unchanged."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, Mapping):
        return {popup_text(k): popup_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [popup_text(v) for v in value]
    return value


def popup_layer(
    features: Mapping[str, Any],
    name: str,
    labels: Mapping[str, str],
    style_function: Any,
    tooltip: str | None = None,
) -> folium.GeoJson:
    """Return a GeoJSON layer whose features open a popup of `labels` (property → label), every shown value and label
    escaped by popup_text; `tooltip` names a property shown on hover, escaped the same way.

    The one way a map here shows feature properties in a popup or tooltip: a township typed by a clerk as
    `<img src=x onerror=…>` is shown as that text, not run.
    """
    feats = list(features.get("features") or [])
    fields = [k for k in labels if all(k in (f.get("properties") or {}) for f in feats)]
    shown = set(fields) | ({tooltip} if tooltip else set())
    safe = {
        **features,
        "features": [
            {
                **f,
                "properties": {k: popup_text(v) if k in shown else v for k, v in (f.get("properties") or {}).items()},
            }
            for f in feats
        ],
    }
    popup = (
        folium.GeoJsonPopup(fields=fields, aliases=[popup_text(labels[k]) for k in fields], localize=True)
        if fields
        else None
    )
    hover = folium.GeoJsonTooltip(fields=[tooltip], labels=False) if tooltip and feats else None
    return folium.GeoJson(safe, name=name, style_function=style_function, popup=popup, tooltip=hover)


def _conflicts(conflicts: Mapping[str, Any], zh: bool) -> folium.GeoJson:
    labels = {
        "rule": ("规则", "Rule"),
        "title": ("图层", "Layer"),
        "overlap_m2": ("重叠面积（㎡）", "Overlap (m²)"),
        "overlap_mu": ("重叠面积（亩）", "Overlap (mu)"),
        "message": ("说明", "Message"),
    }

    def style(f: dict[str, Any]) -> dict[str, Any]:
        warn = (f.get("properties") or {}).get("status") == "warn"
        return {
            "color": "#B26A00" if warn else "#C8102E",
            "weight": 2,
            "fillColor": "#F0A020" if warn else "#E4002B",
            "fillOpacity": 0.5,
        }

    return popup_layer(
        conflicts,
        "冲突图斑" if zh else "Conflicts",
        {k: v[0 if zh else 1] for k, v in labels.items()},
        style,
    )


_COMMENT_URL = re.compile(r"(?m)^[ \t]*//[^\n]*https?://[^\n]*$")
_LINKS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _offline(text: str) -> str:
    # folium's plugin templates carry `// see https://…` comment lines: drop them so the page names no other host
    return _COMMENT_URL.sub("", text)


def _check_links(m: folium.Map, text: str) -> None:
    static = getattr(m, "static_url", "/static")
    for link in _LINKS.findall(text):
        if not link.startswith(static + "/"):
            raise OfflineAssetError(f"the map page would load {link}; only {static}/… is served offline")


def render_parts(m: folium.Map) -> MapParts:
    """Render the map into the pieces our Jinja pages embed (no iframe, no second document)."""
    root = m.get_root()
    root.render()
    header, html = root.header.render(), root.html.render()
    _check_links(m, header + html)
    return MapParts(header=header, html=html, script=_offline(root.script.render()), map_id=m.get_name())


def map_html(m: folium.Map, title: str = "一张图") -> str:
    """Render the map as a whole standalone HTML document (its links still point at the app's static URL)."""
    root = m.get_root()
    root.title = title
    html = _offline(root.render())
    _check_links(m, html.split("<body>", 1)[0] + root.html.render())
    return html
