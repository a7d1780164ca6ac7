"""The one map (the start page) with every layer as vector tiles, and staff login and logout."""

from __future__ import annotations

import time
from typing import Annotated, Any

import folium
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.landuse import groups as landuse_groups
from service.access.auth import Principal, authenticate, end_session, principal_of, start_session
from service.cases.places import find_place
from service.core.audit import audit
from service.core.errors import DomainError, NotAuthenticated, TooManyAttempts
from service.http.deps import SESSION_COOKIE, ReadSessionDep, SessionDep, SettingsDep, SignerDep
from service.http.errors import status_for
from service.http.limits import client_address, login_attempt
from web.i18n import lang_of, translator
from web.map.builder import bounds_of, build_map, landuse_colors, popup_text, render_parts
from web.pages.common import SESSION_ENDS_COOKIE, basemap_of, county_bounds_of, home_bounds, map_layers, page
from web.session import CsrfDep, session_user

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def index() -> Response:
    """Open on the one map."""
    return RedirectResponse("/map", status_code=303)


@router.get("/map", response_class=HTMLResponse)
def one_map(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    user: Annotated[Principal | None, Depends(session_user)],
    go: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Show the county's one map with every layer as vector tiles; `go` finds a parcel number, a village, a township
    or a typed coordinate and frames the map on it."""
    lang = lang_of(request)
    layers = map_layers(lang, staff=user is not None)
    found, error, status = None, None, 200
    if go and go.strip():
        try:
            found = find_place(session, go)
        except DomainError as exc:
            error, status = exc.message, status_for(exc)
    overlays = []
    if found is not None:
        style = {"color": "#00B4FF", "weight": 3, "fillColor": "#00B4FF", "fillOpacity": 0.15}
        overlays.append(
            folium.GeoJson(
                found.geometry,
                name=("查找结果" if lang == "zh" else "Found") + f": {popup_text(found.label)}",  # the layer list: HTML
                style_function=lambda f: style,
                interactive=False,  # a click goes through to the parcel's own attributes
                marker=folium.CircleMarker(radius=9, color="#00B4FF", weight=3, fill=True, fill_opacity=0.3),
            )
        )
    frame: dict[str, Any] = {"bounds": county_bounds_of(session, settings)}
    if found is not None and found.geometry["type"] == "Point":
        lon, lat = found.geometry["coordinates"]
        frame = {"center": (lon, lat), "zoom": 17}
    elif found is not None:
        frame = {"bounds": bounds_of(found.geometry)}
    m = build_map(
        layers,
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        lang=lang,
        overlays=overlays,
        home=home_bounds(settings),
        **frame,
    )
    groups = landuse_groups()
    legend = [
        (code, groups.get(code, (code, code))[0 if lang == "zh" else 1], color)
        for code, color in landuse_colors().items()
        if len(code) == 2
    ]
    context = {
        "map": render_parts(m),
        "nav": "map",
        "legend": legend,
        "layers": layers,
        "go": go or "",
        "found": found,
        "error": error,
    }
    return page(request, "map.html", context, user=user, status=status)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/workbench") -> Response:
    """Show the staff login form."""
    return page(request, "login.html", {"next": next})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    _csrf: CsrfDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=300)] = "/workbench",
) -> Response:
    """Check the password, set the signed session cookie and go on."""
    t = translator(lang_of(request))
    try:
        with login_attempt(request, username):
            user = authenticate(session, username, password)
    except NotAuthenticated:
        return page(request, "login.html", {"next": next, "error": t("login_failed"), "username": username}, status=401)
    except TooManyAttempts as exc:
        response = page(request, "login.html", {"next": next, "error": exc.message, "username": username}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    audit(session, principal_of(user).actor, "auth.login", None, None, {"via": "web"})
    session_id = start_session(session, user, "web", signer.max_age, client_address(request))
    target = next if next.startswith("/") and not next.startswith("//") else "/workbench"
    response = RedirectResponse(target, status_code=303)
    cookie = signer.issue(session_id, cookie=True)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", max_age=settings.token_minutes * 60, path="/"
    )
    # when the login ends, for the pages' warning before it (not a secret: the session cookie itself is HttpOnly)
    ends = int(time.time()) + settings.token_minutes * 60
    response.set_cookie(
        SESSION_ENDS_COOKIE, str(ends), samesite="strict", max_age=settings.token_minutes * 60, path="/"
    )
    return response


@router.post("/logout")
def logout(request: Request, _csrf: CsrfDep, session: SessionDep, signer: SignerDep) -> Response:
    """End the session: its cookie no longer opens anything, even if a copy of it was kept."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            end_session(session, signer.read(cookie, cookie=True))
        except NotAuthenticated:
            pass  # an expired or forged cookie: nothing to end
    response = RedirectResponse("/map", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(SESSION_ENDS_COOKIE, path="/")
    return response
