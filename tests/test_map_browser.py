"""The built map in headless Chromium: local assets only, real MVT tiles drawn, popups, drawing, no console errors."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot
from web.map.builder import MapLayer, build_map, map_html

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
CENTER = (114.32, 29.85)  # lon, lat: Xian'an
CODES = ["0101", "0103", "0201", "0301", "0404", "0702", "1003", "1104", "1202", "0602", "0102", "0305"]
BOUNDARY = {
    "type": "Polygon",
    "coordinates": [
        [[114.3185, 29.8485], [114.3215, 29.8485], [114.3215, 29.8510], [114.3185, 29.8510], [114.3185, 29.8485]]
    ],
}
CONFLICTS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {
                "rule": "basic_farmland",
                "message": "占用永久基本农田",
                "overlap_m2": 2150.25,
                "overlap_mu": 3.2254,
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [114.3185, 29.8485],
                        [114.3200, 29.8485],
                        [114.3200, 29.8497],
                        [114.3185, 29.8497],
                        [114.3185, 29.8485],
                    ]
                ],
            },
        }
    ],
}


def _merc(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return math.radians(lon) * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * math.pi * 6378137.0 / (1 << z)
    minx = -math.pi * 6378137.0 + x * size
    maxy = math.pi * 6378137.0 - y * size
    return minx, maxy - size, minx + size, maxy


def _features(layer: str) -> list[tuple[object, dict, int]]:
    """A synthetic town in Web Mercator around CENTER: land-use patches and a finer grid of parcels."""
    from shapely.geometry import box

    cx, cy = _merc(*CENTER)
    out = []
    if layer == "landuse":  # 2.4 km × 1.6 km of 200 m patches
        x0, y0, step = cx - 1200, cy - 800, 200.0
        for i in range(12):
            for j in range(8):
                props = {"dlbm": CODES[(i + 3 * j) % len(CODES)], "patch_no": f"TB{i:02d}{j:02d}"}
                out.append(
                    (
                        box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step - 6, y0 + (j + 1) * step - 6),
                        props,
                        1 + i * 8 + j,
                    )
                )
    elif layer == "parcels":  # 1.2 km × 0.8 km of 50 m parcels in the middle
        x0, y0, step = cx - 600, cy - 400, 50.0
        for i in range(24):
            for j in range(16):
                out.append(
                    (
                        box(x0 + i * step + 3, y0 + j * step + 3, x0 + (i + 1) * step - 3, y0 + (j + 1) * step - 3),
                        {"parcel_no": f"421202{i:03d}{j:03d}"},
                        1 + i * 16 + j,
                    )
                )
    return out


def _mvt(layer: str, z: int, x: int, y: int) -> bytes:
    import mapbox_vector_tile
    from shapely.geometry import box

    b = _tile_bounds(z, x, y)
    pad = (b[2] - b[0]) * 64 / 4096
    clip = box(b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    feats = [
        {"geometry": g.intersection(clip), "properties": p, "id": fid}
        for g, p, fid in _features(layer)
        if g.intersects(clip)
    ]
    if not feats:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": layer, "features": feats}], default_options={"quantize_bounds": b, "extents": 4096}
    )


class _Handler(SimpleHTTPRequestHandler):
    page = b""
    canvas_page = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = urlparse(self.path).path
        if path == "/canvas.html":
            return self._send(200, "text/html; charset=utf-8", self.canvas_page)
        if path == "/map.html":
            return self._send(200, "text/html; charset=utf-8", self.page)
        if path == "/favicon.ico":
            return self._send(204, "image/x-icon", b"")
        if m := re.fullmatch(r"/tiles/(\w+)/(\d+)/(\d+)/(\d+)\.pbf", path):
            return self._send(200, "application/vnd.mapbox-vector-tile", _mvt(m[1], int(m[2]), int(m[3]), int(m[4])))
        if m := re.fullmatch(r"/tiles/(\d+)/(\d+)/(\d+)\.pbf", path):  # every layer of a tile: MVTs one after another
            names = parse_qs(urlparse(self.path).query)["layers"][0].split(",")
            body = b"".join(_mvt(name, int(m[1]), int(m[2]), int(m[3])) for name in names)
            return self._send(200, "application/vnd.mapbox-vector-tile", body)
        if path.startswith("/static/"):
            self.path = path.removeprefix("/static")
            return super().do_GET()
        return self._send(404, "text/plain", b"not found")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def served() -> Iterator[str]:
    if not chromium_path():
        unavailable("Debian's chromium is not installed (apt-get install chromium; scripts/setup does it)")
    pytest.importorskip("mapbox_vector_tile")
    layers = [MapLayer("landuse", "土地利用现状", 12), MapLayer("parcels", "地籍宗地", 14)]
    pages = {}
    for renderer in ("svg", "canvas"):
        m = build_map(
            layers,
            center=CENTER,
            zoom=16,
            boundary=BOUNDARY,
            conflicts=CONFLICTS,
            draw_field="boundary_geojson",
            renderer=renderer,
        )
        pages[renderer] = (
            map_html(m).replace("<body>", "<body><input type='hidden' id='boundary_geojson' value=''>", 1).encode()
        )
    handler = type("Handler", (_Handler,), {"page": pages["svg"], "canvas_page": pages["canvas"]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(STATIC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_map_draws_vector_tiles_offline_with_popups_and_drawing(served):
    with browser_page() as (page, requests, errors):
        page.goto(f"{served}/map.html")
        assert page.evaluate("typeof window.L === 'object' && L.version") == "1.9.4"
        assert page.evaluate("!!(L.vectorGrid && L.Control.Draw && L.Control.Measure && window.landwindowMap)")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-pane svg path').length > 100", timeout=15000)
        page.wait_for_timeout(500)
        fills = page.evaluate(
            "[...new Set([...document.querySelectorAll('.leaflet-tile-pane svg path')].map(p => p.getAttribute('fill')))]"
        )
        assert "#FFFF64" in fills and "#31AD69" in fills  # paddy yellow, forest green from the colour table
        # the map fills its container
        size = page.evaluate(
            "(() => { const r = document.querySelector('.folium-map').getBoundingClientRect(); return [r.width, r.height]; })()"
        )
        assert size == [1366, 768]
        # boundary (blue) and conflict (red) drawn as vector overlays
        strokes = page.evaluate(
            "[...document.querySelectorAll('.leaflet-overlay-pane path')].map(p => p.getAttribute('stroke'))"
        )
        assert "#1F5FBF" in strokes and "#C8102E" in strokes
        shot = screenshot(page, "map_builder_z16.png")

        # click a land-use patch outside the boundary: its attributes in a popup, the feature highlighted
        page.mouse.click(300, 650)
        page.wait_for_selector(".lw-popup", timeout=5000)
        text = page.inner_text(".lw-popup")
        assert "dlbm" in text or "parcel_no" in text
        assert page.evaluate("document.querySelectorAll('.leaflet-tile-pane svg path[stroke=\"#00B4FF\"]').length") >= 1
        page.wait_for_timeout(300)
        screenshot(page, "map_builder_feature_popup.png")
        page.evaluate("landwindowMap.closePopup()")

        # click the conflict: the rule and the overlap area
        cx, cy = page.evaluate(
            "(() => { const p = landwindowMap.latLngToContainerPoint([29.8491, 114.31925]); return [p.x, p.y]; })()"
        )
        page.mouse.click(cx, cy)
        page.wait_for_function(
            "document.querySelector('.leaflet-popup-content') && "
            "document.querySelector('.leaflet-popup-content').innerText.includes('basic_farmland')"
        )
        popup = page.inner_text(".leaflet-popup-content")
        assert "重叠面积（亩）" in popup and "3.225" in popup and "2,150.25" in popup
        page.wait_for_timeout(300)
        screenshot(page, "map_builder_conflict_popup.png")
        page.evaluate("landwindowMap.closePopup()")

        # draw a triangle: GeoJSON lands in the hidden field and reaches window.landwindowDrawn
        page.evaluate(
            "() => { window.gotDrawn = []; window.landwindowDrawn = function (gj) { window.gotDrawn.push(gj); }; }"
        )
        page.click(".leaflet-draw-draw-polygon")
        for x, y in ((900, 200), (1100, 220), (1000, 380), (900, 200)):  # leaflet-draw needs the move before a click
            page.mouse.move(x, y)
            page.mouse.click(x, y)
            page.wait_for_timeout(150)
        page.wait_for_function("window.gotDrawn.length === 1", timeout=5000)
        drawn = json.loads(page.input_value("#boundary_geojson"))
        assert drawn["geometry"]["type"] == "Polygon" and len(drawn["geometry"]["coordinates"][0]) == 4
        lon, lat = drawn["geometry"]["coordinates"][0][0]
        assert 114.3 < lon < 114.34 and 29.84 < lat < 29.86
        assert page.evaluate("window.gotDrawn[0].geometry.type") == "Polygon"
        screenshot(page, "map_builder_drawn.png")

        # zoom out below the parcels' minimum zoom: no parcel tiles requested there
        page.evaluate("landwindowMap.setZoom(13)")
        page.wait_for_timeout(1000)
        assert not [u for u in requests if "/tiles/13/" in u and "parcels" in u]
        assert any("/tiles/13/" in u and "?layers=landuse" in u for u in requests)

    hosts = {urlparse(u).netloc for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlparse(served).netloc}, hosts
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in requests)
    # one request per tile for both layers, none per layer
    z16 = [u for u in requests if "/tiles/16/" in u]
    assert z16 and all(u.endswith("?layers=landuse,parcels") for u in z16), z16
    assert len(z16) == len(set(z16)) and not [u for u in requests if re.search(r"/tiles/[a-z_]+/", u)]
    assert errors == [], errors
    assert shot.stat().st_size > 20_000


def test_canvas_tiles_draw_the_land_use_colours_and_answer_clicks(served):
    """The default renderer: vector tiles painted on canvas, still clickable for a feature's attributes."""
    with browser_page() as (page, requests, errors):
        page.goto(f"{served}/canvas.html")
        page.wait_for_function(
            "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length >= 4", timeout=15000
        )
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelectorAll('.leaflet-tile-pane svg path').length") == 0
        colours = page.evaluate(
            """(() => { const seen = new Set();
                for (const c of document.querySelectorAll('.leaflet-tile-pane canvas')) {
                  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  for (let i = 0; i < d.length; i += 4 * 97) if (d[i + 3] > 0) seen.add([d[i], d[i+1], d[i+2]].join(','));
                }
                return [...seen]; })()"""
        )
        assert "255,255,100" in colours  # #FFFF64 paddy fields, painted from the colour table
        page.mouse.click(300, 650)
        page.wait_for_selector(".lw-popup", timeout=5000)
        assert "dlbm" in page.inner_text(".lw-popup") or "parcel_no" in page.inner_text(".lw-popup")
        screenshot(page, "map_builder_canvas.png")
    assert errors == [], errors
