"""What every page shares: the templates, the page renderer, the basemap and the map's layers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.catalog import case_layers, catalog
from service.access.auth import Principal
from service.core.models import User
from service.core.settings import Settings
from web.i18n import LANG_COOKIE, TEMPLATE_FILTERS, TEMPLATE_GLOBALS, lang_of, translator
from web.map.builder import Basemap, MapLayer
from web.map.landuse_style import layer_style
from web.session import csrf_token, set_csrf_cookie

CSP_NONCE = "csp_nonce"
"""Where web/security.py keeps the request's script nonce in the ASGI scope's state."""
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)(?![^>]*\snonce=)", re.IGNORECASE)


def script_nonce(request: Request) -> str:
    """Return this response's script nonce: an inline <script> runs only with it (the CSP allows no other)."""
    return str(request.scope.get("state", {}).get(CSP_NONCE, ""))


def nonced(html: str, request: Request) -> str:
    """Return HTML we generated ourselves (a folium map's header, Swagger UI) with the nonce on its inline scripts.

    Never for anything holding what a user typed: the nonce would bless a script smuggled in with it.
    """
    return _INLINE_SCRIPT.sub(f'<script nonce="{script_nonce(request)}"', html)


templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.globals.update(TEMPLATE_GLOBALS, script_nonce=script_nonce, nonced=nonced)
templates.env.filters.update(TEMPLATE_FILTERS)

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
LEGEND = (
    "basic_farmland",
    "eco_redline",
    "village_boundary",
    "urban_boundary",
    "mining_rights",
    "parcels",
    "townships",
)
"""The overlay layers the case maps' legend explains (the land-use colours are the one map's own legend)."""


def _swatch(style: dict[str, Any]) -> str:
    line = "dashed" if style.get("dashArray") else "solid"
    css = f"border: {max(1, round(float(style.get('weight', 1))))}px {line} {style.get('color', '#333')}"
    if style.get("fill"):
        alpha = round(float(style.get("fillOpacity", 0.2)) * 255)
        css += f"; background: {style.get('fillColor', style.get('color'))}{alpha:02X}"
    return css


def legend_layers(lang: str) -> list[dict[str, str]]:
    """Return the legend of a case map's overlay layers: each layer's title and a CSS swatch of its style."""
    specs = catalog()
    return [
        {"title": specs[n].title if lang == "zh" else specs[n].title_en, "css": _swatch(layer_style(n))}
        for n in LEGEND
        if n in specs
    ]


templates.env.globals["legend_layers"] = legend_layers


SESSION_ENDS_COOKIE = "lw_session_ends"
"""When the login ends (epoch seconds), set beside the session cookie: the pages warn before it and keep drafts."""


def display_name(request: Request, user: Principal | None) -> str:
    """Return how the header names the logged-in member of staff: their display name, else the username."""
    if user is None:
        return ""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return user.username
    with Session(engine) as session:
        name = session.scalar(select(User.display_name).where(User.username == user.username))
    return name or user.username


CASE_TILES = "/tiles/cases/{layer}/{z}/{x}/{y}.pbf"
"""The layers of the cases (pending applications, approved land) are served to logged-in staff only."""
CASE_TILES_TOGETHER = "/tiles/cases/{z}/{x}/{y}.pbf"
"""Where the map fetches a tile of every layer of the cases at once."""


def page(
    request: Request, name: str, context: dict[str, Any], user: Principal | None = None, status: int = 200
) -> Response:
    """Render a page with the shared context (language, user and how they are named, CSRF token, static URL, when
    the login ends)."""
    lang = lang_of(request)
    settings: Settings = request.app.state.settings
    ends = request.cookies.get(SESSION_ENDS_COOKIE, "") if user else ""
    ctx = {
        "t": translator(lang),
        "lang": lang,
        "user": user,
        "user_name": display_name(request, user),
        "session_ends": ends if ends.isdigit() else "",
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
            MapLayer(n, s.title if lang == "zh" else s.title_en, s.minzoom, url=CASE_TILES, batch=CASE_TILES_TOGETHER)
            for n, s in case_layers().items()
        ]
    return out


def county_bounds_of(session: Session, settings: Settings) -> tuple[float, float, float, float] | None:
    """Return the loaded county's extent (townships), else the profile's box (None when it gives none)."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM townships) s"
        )
    ).first()
    if row and row[0] is not None:
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])
    return home_bounds(settings)


def home_bounds(settings: Settings) -> tuple[float, float, float, float] | None:
    """Return the profile's box as (lon_min, lat_min, lon_max, lat_max): where a map starts with nothing to frame."""
    e = settings.profile.extent.box
    return (e.lon_min, e.lat_min, e.lon_max, e.lat_max) if e else None
