"""Server-rendered pages: the one map, login; every page in Chinese with English on request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gis.boundary import county_extent
from gis.catalog import catalog
from service.api.deps import SESSION_COOKIE, ConnDep, SessionDep, SettingsDep, SignerDep
from service.api.limits import login_attempt
from service.audit import audit
from service.auth import Principal, authenticate
from service.errors import NotAuthenticated, TooManyAttempts
from service.settings import Settings
from web.documents import html_to_pdf, render_html
from web.i18n import LANG_COOKIE, TEMPLATE_GLOBALS, lang_of, translator
from web.map import Basemap, MapLayer, build_map, landuse_colors, render_parts
from web.session import CsrfDep, UserDep, csrf_token, session_user, set_csrf_cookie

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.globals.update(TEMPLATE_GLOBALS)
router = APIRouter(include_in_schema=False)

# The order layers are drawn in (bottom first) and whether they start visible.
MAP_LAYERS = ("land_price_zones", "townships", "landuse", "parcels", "basic_farmland", "village_boundary",
              "urban_boundary", "eco_redline", "mining_rights")  # fmt: skip
HIDDEN = {"land_price_zones"}


def page(request: Request, name: str, context: dict[str, Any], user: Principal | None = None, status: int = 200) -> Response:
    """Render a page with the shared context (language, user, CSRF token, static URL)."""
    lang = lang_of(request)
    settings: Settings = request.app.state.settings
    ctx = {"t": translator(lang), "lang": lang, "user": user, "csrf": csrf_token(request), "static_url": settings.static_url, **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    set_csrf_cookie(request, response)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="lax", max_age=365 * 86400)
    return response


def forbidden_page(request: Request, user: Principal, template: str, message: str, nav: str) -> Response:
    """Render a page's own template carrying only the refusal, with status 403."""
    return page(request, template, {"nav": nav, "forbidden": message}, user=user, status=403)


def basemap_of(settings: Settings) -> Basemap:
    """Return the configured basemap."""
    return Basemap(settings.basemap, settings.basemap_url, settings.basemap_attribution, settings.tianditu_key)


def map_layers(lang: str) -> list[MapLayer]:
    """Return the catalog layers as the map shows them."""
    specs = catalog()
    return [
        MapLayer(n, specs[n].title if lang == "zh" else specs[n].title_en, specs[n].minzoom, n not in HIDDEN)
        for n in MAP_LAYERS
        if n in specs
    ]


async def county_bounds(conn: Any) -> tuple[float, float, float, float]:
    """Return the loaded county's extent (townships), or the configured extent when nothing is loaded."""
    cur = await conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM townships) s")
    row = await cur.fetchone()
    if row and row[0] is not None:
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])
    e = county_extent()
    return e.lon_min, e.lat_min, e.lon_max, e.lat_max


@router.get("/", response_class=HTMLResponse)
async def index() -> Response:
    """Open on the one map."""
    return RedirectResponse("/map", status_code=303)


@router.get("/map", response_class=HTMLResponse)
async def one_map(request: Request, conn: ConnDep, settings: SettingsDep) -> Response:
    """Show the county's one map with every layer as vector tiles."""
    lang = lang_of(request)
    m = build_map(map_layers(lang), bounds=await county_bounds(conn), static_url=settings.static_url, basemap=basemap_of(settings),
                  lang=lang)  # fmt: skip
    colors = landuse_colors()
    legend = [(code, color) for code, color in colors.items() if len(code) == 2]
    return page(request, "map.html", {"map": render_parts(m), "nav": "map", "legend": legend, "layers": map_layers(lang)},
                user=session_user(request))  # fmt: skip


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
    audit(session, f"{user.role}:{user.username}", "auth.login", None, None, {"via": "web"})
    target = next if next.startswith("/") and not next.startswith("//") else "/workbench"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, signer.issue(user, cookie=True), httponly=True, samesite="lax",
                        max_age=settings.token_minutes * 60, path="/")  # fmt: skip
    return response


@router.post("/logout")
def logout(_csrf: CsrfDep) -> Response:
    """End the session."""
    response = RedirectResponse("/map", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _latest_notice(session: SessionDep, user: Principal, case_id: int) -> tuple[Any, Any]:
    from sqlalchemy import select

    from service.api.cases import _visible
    from service.errors import NotFound
    from service.models import Notice

    case = _visible(session, user, case_id)
    notice = session.scalar(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id.desc()).limit(1))
    if notice is None:
        raise NotFound("尚未出具告知书 / no notice has been issued for this case")
    audit(session, user.actor, "notice.view", case.id, None, {"notice_id": notice.id})
    return case, notice


def _notice_context(case: Any, notice: Any, pdf: bool) -> dict[str, Any]:
    from service.workflow import workflow

    content = notice.content
    issued = content.get("issued_at", "")[:10]
    kind_title = {"homestead": "村民建房（农村宅基地）", "requisition": "土地征收", "mining": "采矿权"}.get(case.kind, case.kind)
    return {"n": content, "issued": issued, "kind_title": kind_title, "pdf": pdf, "states": workflow().state_titles}


@router.get("/cases/{case_id}/notice", response_class=HTMLResponse)
def notice_print_view(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
    """The latest one-time notice as a print view."""
    case, notice = _latest_notice(session, user, case_id)
    return templates.TemplateResponse(request, "notice.html", _notice_context(case, notice, pdf=False))


@router.get("/cases/{case_id}/notice.pdf")
def notice_pdf(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
    """The latest one-time notice as a PDF with Chinese fonts."""
    case, notice = _latest_notice(session, user, case_id)
    html = render_html(templates, request, "notice.html", _notice_context(case, notice, pdf=True))
    pdf = html_to_pdf(html, str(request.base_url))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="notice-{case.case_no}.pdf"'})  # fmt: skip
