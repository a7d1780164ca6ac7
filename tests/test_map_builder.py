"""The folium map builder without a browser: only local assets, every one on disk, basemap and plugins on request."""

import csv
import json
import re
import threading
from pathlib import Path

import folium
import pytest
from folium.plugins import Draw, MeasureControl, VectorGridProtobuf

from web.map.builder import Basemap, MapLayer, OfflineAssetError, build_map, map_html, render_parts
from web.map.landuse_style import LAYER_STYLES, STYLE_KINDS, landuse_colors, landuse_fill, layer_style

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
VENDOR = STATIC / "vendor"
BOUNDARY = {
    "type": "Polygon",
    "coordinates": [[[114.30, 29.80], [114.31, 29.80], [114.31, 29.81], [114.30, 29.81], [114.30, 29.80]]],
}
CONFLICTS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[114.30, 29.80], [114.305, 29.80], [114.305, 29.805], [114.30, 29.80]]],
            },
            "properties": {
                "rule": "eco_redline",
                "message": "占用生态保护红线",
                "overlap_m2": 1234.5,
                "overlap_mu": 1.85,
            },
        }
    ],
}
LAYERS = [
    MapLayer("land_price_zones", "区片综合地价", 8, show=False),
    MapLayer("townships", "乡镇界", 8),
    MapLayer("landuse", "土地利用现状", 12),
    MapLayer("parcels", "地籍宗地", 14),
    {"name": "basic_farmland", "title": "永久基本农田", "minzoom": 10},
    MapLayer("eco_redline", "生态保护红线", 8),
    MapLayer("urban_boundary", "城镇开发边界", 8),
    MapLayer("village_boundary", "村庄建设用地范围", 10),
    MapLayer("mining_rights", "矿业权", 8),
]
URL = re.compile(r"https?://[^\s\"'<>]+|//cdn|unpkg|jsdelivr|cdnjs|bootstrapcdn|code\.jquery", re.I)


def _full(**kw) -> str:
    kw.setdefault("bounds", (114.1, 29.65, 114.7, 30.05))
    m = build_map(LAYERS, **kw)
    p = render_parts(m)
    return map_html(m) + p.header + p.html + p.script


def _has(text: str, s: str) -> bool:
    return s in text or json.dumps(s)[1:-1] in text


def _refs(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"draw_field": "boundary_geojson", "boundary": BOUNDARY, "conflicts": CONFLICTS},
        {"draw": True, "measure": True, "lang": "en"},
        {"measure": False, "scale": False, "layer_control": False},
    ],
)
def test_default_page_names_no_other_host_and_every_asset_is_on_disk(kw):
    html = _full(**kw)
    assert not URL.findall(html), URL.findall(html)[:5]
    refs = _refs(html)
    assert refs and all(r.startswith("/static/") for r in refs), refs
    for ref in refs:
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref
    assert "/static/vendor/leaflet/leaflet.js" in refs and "/static/vendor/leaflet/leaflet.css" in refs
    assert "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js" in refs
    # folium's Map extras we do not use are gone
    assert not re.search(r"bootstrap|awesome|glyphicons|fontawesome|jquery", " ".join(refs))


def test_static_prefix_is_configurable():
    html = _full(static_url="/gis/assets/", draw_field="f")
    refs = _refs(html)
    assert refs and all(
        r.startswith("/gis/assets/vendor/") or r in ("/gis/assets/landwindow-map.js", "/gis/assets/app.css")
        for r in refs
    )


def test_basemap_adds_exactly_its_url():
    url = "http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png"
    html = _full(basemap=Basemap("xyz", url, "县测绘院"))
    assert set(URL.findall(html)) == {url}
    assert _has(html, "县测绘院")
    assert not URL.findall(_full(basemap=Basemap("tianditu")))  # no key: no basemap at all
    assert not URL.findall(_full(basemap=Basemap("xyz")))  # no URL: none


def test_tianditu_with_a_key_adds_its_wmts_tiles_and_labels():
    html = _full(basemap=Basemap("tianditu", tianditu_key="abc123", tianditu_style="img"))
    urls = set(URL.findall(html))
    assert {u.split("?")[0] for u in urls} == {
        "https://t{s}.tianditu.gov.cn/img_w/wmts",
        "https://t{s}.tianditu.gov.cn/cia_w/wmts",
    }
    assert all("tk=abc123" in u and "TILEMATRIX={z}" in u and "TILEROW={y}" in u and "TILECOL={x}" in u for u in urls)


def test_draw_and_measure_plugins_present_only_when_asked():
    plain = _full(measure=False)
    assert "leaflet.draw" not in plain and "leaflet-measure" not in plain and "L.Control.Draw" not in plain
    both = _full(draw_field="boundary_geojson", measure=True)
    assert {
        "/static/vendor/leaflet-draw/leaflet.draw.js",
        "/static/vendor/leaflet-draw/leaflet.draw.css",
        "/static/vendor/leaflet-measure/leaflet-measure.min.js",
        "/static/vendor/leaflet-measure/leaflet-measure.css",
    } <= set(_refs(both))
    assert "new L.Control.Draw" in both and "new L.Control.Measure" in both
    assert '"boundary_geojson"' in both and "window.landwindowDrawn" in both
    assert "绘制用地范围" in both and '"localization": "cn"' in both  # Chinese toolbar and measure texts
    assert "alert(" not in both  # folium's show-geometry alert is off
    assert "new L.Control.Draw" in _full(draw=True)


def test_layers_are_vector_tiles_with_their_styles_and_the_page_does_not_grow():
    html = _full()
    for lyr in LAYERS:
        name = lyr.name if isinstance(lyr, MapLayer) else lyr["name"]
        assert f"'/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf'" in html
    assert html.count("interactive: true") == len(LAYERS) * 2  # twice: map_html + parts
    assert "getFeatureId: LW.fid" in html and '"landuse": LW.landuseStyle' in html
    assert '"dashArray": "10 5"' in html  # urban boundary dashed
    small = render_parts(build_map(LAYERS[:1], bounds=(114.1, 29.65, 114.7, 30.05)))
    big = render_parts(build_map(LAYERS, bounds=(114.1, 29.65, 114.7, 30.05)))
    per_layer = (len(big.script) - len(small.script)) / (len(LAYERS) - 1)
    assert per_layer < 900 and len(big.header + big.html + big.script) < 40_000


def test_layer_descriptor_url_and_style_kind():
    html = render_parts(
        build_map([MapLayer("roads", "道路", 13, url="/other/{layer}/{z}/{x}/{y}.mvt", style="parcels")])
    ).script
    assert "'/other/roads/{z}/{x}/{y}.mvt'" in html and '"roads": {"color": "#333333"' in html
    assert (
        '"roads": {"color": "#3366CC"' in render_parts(build_map([MapLayer("roads", "道路", 13)])).script
    )  # default outline
    with pytest.raises(ValueError, match="style kind"):
        build_map([MapLayer("roads", "道路", 13, style="nope")])
    with pytest.raises(ValueError):
        build_map([MapLayer("x'); alert(1); //", "x", 13)])


def test_boundary_and_conflicts():
    html = render_parts(build_map(LAYERS, boundary=BOUNDARY, conflicts=CONFLICTS)).script
    assert "#1F5FBF" in html and _has(html, "申请用地范围") and '"interactive": false' in html
    assert "#C8102E" in html and "eco_redline" in html and _has(html, "冲突图斑")
    for alias in ("规则", "重叠面积（㎡）", "重叠面积（亩）", "说明"):
        assert _has(html, alias)
    # the view fits the boundary when no bounds are given
    assert "fitBounds([[29.79" in html


def test_view_from_center_and_default_county():
    m = build_map(LAYERS, center=(114.32, 29.85), zoom=16)
    assert m.location == [29.85, 114.32] and "fitBounds" not in render_parts(m).script
    assert "fitBounds" in render_parts(build_map(LAYERS)).script  # county extent
    with pytest.raises(ValueError):
        build_map(LAYERS, center=(29.85, 114.32 + 100))


def test_folium_class_lists_are_not_changed_and_maps_do_not_share_state():
    before = [list(c.default_js) + list(c.default_css) for c in (folium.Map, VectorGridProtobuf, Draw, MeasureControl)]
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda p=p: results.append(render_parts(build_map(LAYERS, static_url=p, draw=True)).header)
        )
        for p in ("/a", "/b", "/c", "/d")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for prefix in ("/a", "/b", "/c", "/d"):
        (header,) = [h for h in results if f'"{prefix}/vendor/leaflet/leaflet.js"' in h]
        assert all(r.startswith(prefix + "/") for r in _refs(header))
    after = [list(c.default_js) + list(c.default_css) for c in (folium.Map, VectorGridProtobuf, Draw, MeasureControl)]
    assert before == after and "unpkg.com" in str(VectorGridProtobuf.default_js)  # folium's own lists untouched


def test_elements_needing_unvendored_assets_are_refused_and_popups_get_jquery():
    m = build_map(LAYERS)
    folium.Marker([29.85, 114.32], icon=folium.Icon(icon="home")).add_to(m)
    with pytest.raises(OfflineAssetError, match="awesome"):
        render_parts(m)
    m = build_map(LAYERS)
    folium.Marker([29.85, 114.32], popup="宗地").add_to(m)
    refs = _refs(render_parts(m).header)
    assert "/static/vendor/jquery/jquery.min.js" in refs and (VENDOR / "jquery" / "jquery.min.js").is_file()
    m = build_map(LAYERS)
    folium.TopoJson({"type": "Topology", "objects": {}, "arcs": []}, "objects.x").add_to(m)
    with pytest.raises(OfflineAssetError, match="topojson"):
        render_parts(m)


def test_vendored_assets_are_recorded_small_and_licensed():
    versions = (VENDOR / "VERSIONS.txt").read_text()
    for spec in (
        "leaflet 1.9.4",
        "leaflet.vectorgrid 1.3.0",
        "leaflet-draw 1.0.4",
        "leaflet-measure 2.1.7",
        "jquery 3.7.1",
        "swagger-ui-dist 5.35.0",
    ):
        assert spec in versions
    for d in ("leaflet", "leaflet.vectorgrid", "leaflet-draw", "leaflet-measure", "jquery", "swagger-ui-dist"):
        assert list((VENDOR / d).glob("LICENSE*")), d
    files = [p for p in VENDOR.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".map" or p.name.endswith((".esm.js", "-src.js"))]
    docs = VENDOR / "swagger-ui-dist"  # the API docs page's Swagger UI, not loaded by any map page
    assert sum(p.stat().st_size for p in files if docs not in p.parents) < 700_000
    assert sum(p.stat().st_size for p in docs.iterdir()) < 2_000_000
    # CSS url()s are relative and resolve to shipped images
    for css in VENDOR.rglob("*.css"):
        for url in re.findall(r"url\(['\"]?([^'\")]+)", css.read_text()):
            assert not url.startswith(("http", "//")), (css, url)
            if not url.startswith(("data:", "#")):  # "#default#VML" is an old-IE behaviour, not a file
                assert (css.parent / url).is_file(), (css, url)


def test_landuse_colours_cover_every_gbt21010_class():
    table = ROOT / "gis" / "data" / "landuse_gbt21010.csv"
    with table.open(encoding="utf-8") as f:
        codes = [row["code"] for row in csv.DictReader(f)]
    assert len(codes) > 70
    for code in codes:
        assert landuse_fill(code) != "#DDDDDD", code
    assert landuse_fill("0101") == "#FFFF64" and landuse_fill("0103K") == landuse_fill("0103")
    assert landuse_fill("0301") == landuse_colors()["03"] and landuse_fill(None) == "#DDDDDD"
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in landuse_colors().values())
    assert STYLE_KINDS >= set(LAYER_STYLES) | {"landuse"} and layer_style("eco_redline")["color"] == "#E60000"
