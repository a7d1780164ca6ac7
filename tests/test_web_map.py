"""The one-map page: offline assets, vector tiles drawn in a real headless Chromium, nothing leaves localhost."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot
from web.map.builder import Basemap, MapLayer, build_map, render_parts

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
LAYERS = [MapLayer("landuse", "土地利用现状", 12), MapLayer("parcels", "地籍宗地", 14)]


def _html(**kw) -> str:
    p = render_parts(build_map(LAYERS, bounds=(114.1, 29.65, 114.7, 30.05), **kw))
    return p.header + p.html + p.script


def test_map_page_names_no_other_host_and_every_asset_exists():
    html = _html(
        draw_field="boundary",
        measure=True,
        boundary={"type": "Polygon", "coordinates": [[[114.3, 29.8], [114.31, 29.8], [114.31, 29.81], [114.3, 29.8]]]},
    )
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr|cdnjs", html)
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
        "/static/vendor/leaflet-draw/leaflet.draw.js",
        "/static/vendor/leaflet-measure/leaflet-measure.min.js",
    } <= set(refs)
    for ref in refs:
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref


def test_basemap_adds_exactly_its_url():
    html = _html(basemap=Basemap("xyz", "http://tiles.example.gov.cn/{z}/{x}/{y}.png", "县测绘院"))
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://tiles.example.gov.cn/{z}/{x}/{y}.png"]
    assert "县测绘院" in html or json.dumps("县测绘院")[1:-1] in html
    assert "tianditu" not in _html(basemap=Basemap("tianditu"))  # no key: no basemap at all


def test_page_size_does_not_grow_with_the_layer():
    assert len(_html()) < 40_000


@pytest.mark.browser
def test_one_map_draws_tiles_offline_in_chromium(sample_app):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with browser_page() as (page, requests, errors):
        page.goto(f"{sample_app}/map")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 4", timeout=15000)
        page.wait_for_timeout(500)
        shot = screenshot(page, "one_map_county.png")
        painted = page.evaluate(
            """[...document.querySelectorAll('.leaflet-tile-container canvas.leaflet-tile-loaded')].filter(c => {
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < d.length; i += 4 * 61) if (d[i] > 0) return true;
                 return false; }).length"""
        )
        assert painted >= 4  # vector tiles painted on canvas
        # zoom to the town: parcels (z ≥ 14) and land-use patches come in as tiles
        page.evaluate("window.landwindowMap.setView([29.851, 114.318], 15) && null")
        page.wait_for_timeout(1500)
        screenshot(page, "one_map_z15.png")
        tiles = [u for u in requests if "/tiles/" in u]
        # one request per tile for every layer shown (the map's own order)
        z15 = [parse_qs(urlparse(u).query)["layers"][0].split(",") for u in tiles if "/tiles/15/" in u]
        assert z15 and all({"parcels", "landuse"} <= set(names) for names in z15), z15
        box = page.locator("#map-wrap").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".lw-popup", timeout=5000)
        popup = page.inner_text(".lw-popup")
        # the attributes by their names, the land class with its name: no raw field names, no bare codes
        assert re.search(r"地类\t\d{4} \w+", popup) or "宗地代码" in popup, popup
        assert not re.search(r"\b(dlbm|parcel_no|owner_kind|land_class|patch_no)\b", popup), popup
        screenshot(page, "one_map_popup.png")
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(sample_app).netloc}, hosts
    assert errors == []
    assert shot.stat().st_size > 20_000
