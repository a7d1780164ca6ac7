"""What every page shares: the templates, the page renderer, the basemap and the map's layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from gis.catalog import case_layers, catalog
from service.access.auth import Principal
from service.core.settings import Settings
from web.i18n import LANG_COOKIE, TEMPLATE_GLOBALS, lang_of, translator
from web.map.builder import Basemap, MapLayer
from web.session import csrf_token, set_csrf_cookie

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.globals.update(TEMPLATE_GLOBALS)

# The order layers are drawn in (bottom first) and whether they start visible.
MAP_LAYERS = (
    "land_price_zones",
    "townships",
    "landuse",
    "parcels",
    "basic_farmland",
    "village_boundary",
    "urban_boundary",
    "eco_redline",
    "mining_rights",
)
HIDDEN = {"land_price_zones"}
CASE_TILES = "/tiles/cases/{layer}/{z}/{x}/{y}.pbf"
"""The layers of the cases (pending applications, approved land) are served to logged-in staff only."""


def page(
    request: Request, name: str, context: dict[str, Any], user: Principal | None = None, status: int = 200
) -> Response:
    """Render a page with the shared context (language, user, CSRF token, static URL)."""
    lang = lang_of(request)
    settings: Settings = request.app.state.settings
    ctx = {
        "t": translator(lang),
        "lang": lang,
        "user": user,
        "csrf": csrf_token(request),
        "static_url": settings.static_url,
        "profile": settings.profile,
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    set_csrf_cookie(request, response)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="lax", max_age=365 * 86400)
    return response


def basemap_of(settings: Settings) -> Basemap:
    """Return the configured basemap."""
    return Basemap(settings.basemap, settings.basemap_url, settings.basemap_attribution, settings.tianditu_key)


def map_layers(lang: str, staff: bool = False) -> list[MapLayer]:
    """Return the catalog layers as the map shows them; for staff, the layers of the cases above them."""
    specs = catalog()
    out = [
        MapLayer(n, specs[n].title if lang == "zh" else specs[n].title_en, specs[n].minzoom, n not in HIDDEN)
        for n in MAP_LAYERS
        if n in specs
    ]
    if staff:
        out += [
            MapLayer(n, s.title if lang == "zh" else s.title_en, s.minzoom, url=CASE_TILES)
            for n, s in case_layers().items()
        ]
    return out


async def county_bounds(conn: Any, settings: Settings) -> tuple[float, float, float, float] | None:
    """Return the loaded county's extent (townships), else the profile's box (None when it gives none)."""
    cur = await conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM townships) s"
    )
    row = await cur.fetchone()
    if row and row[0] is not None:
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])
    return home_bounds(settings)


def home_bounds(settings: Settings) -> tuple[float, float, float, float] | None:
    """Return the profile's box as (lon_min, lat_min, lon_max, lat_max): where a map starts with nothing to frame."""
    e = settings.profile.extent.box
    return (e.lon_min, e.lat_min, e.lon_max, e.lat_max) if e else None
