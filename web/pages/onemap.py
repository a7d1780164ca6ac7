"""The one map (the start page) with every layer as vector tiles, and staff login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access.auth import authenticate, principal_of
from service.core.audit import audit
from service.core.errors import NotAuthenticated, TooManyAttempts
from service.http.deps import SESSION_COOKIE, ConnDep, SessionDep, SettingsDep, SignerDep
from service.http.limits import login_attempt
from web.i18n import lang_of, translator
from web.map.builder import build_map, landuse_colors, render_parts
from web.pages.common import basemap_of, county_bounds, map_layers, page
from web.session import CsrfDep, session_user

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def index() -> Response:
    """Open on the one map."""
    return RedirectResponse("/map", status_code=303)


@router.get("/map", response_class=HTMLResponse)
async def one_map(request: Request, conn: ConnDep, settings: SettingsDep) -> Response:
    """Show the county's one map with every layer as vector tiles."""
    lang = lang_of(request)
    user = session_user(request)
    layers = map_layers(lang, staff=user is not None)
    m = build_map(
        layers,
        bounds=await county_bounds(conn, settings),
        static_url=settings.static_url,
        basemap=basemap_of(settings),
        lang=lang,
    )
    legend = [(code, color) for code, color in landuse_colors().items() if len(code) == 2]
    context = {"map": render_parts(m), "nav": "map", "legend": legend, "layers": layers}
    return page(request, "map.html", context, user=user)


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
    target = next if next.startswith("/") and not next.startswith("//") else "/workbench"
    response = RedirectResponse(target, status_code=303)
    cookie = signer.issue(user, cookie=True)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax", max_age=settings.token_minutes * 60, path="/"
    )
    return response


@router.post("/logout")
def logout(_csrf: CsrfDep) -> Response:
    """End the session."""
    response = RedirectResponse("/map", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
