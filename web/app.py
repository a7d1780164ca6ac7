"""The ASGI application: the service's API, the web pages and the locally served static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.core.personal import install_log_masking
from service.core.settings import Settings, get_settings
from service.http import errors
from service.http.api.router import api_router
from service.http.bodies import RequestBodyLimit
from service.http.lifespan import make_lifespan
from web import errors as web_errors
from web.pages import case, documents, filing, intake, onemap, online, planner, portal, reports, workbench
from web.pages.common import nonced
from web.security import SecurityHeaders
from web.session import LoginRequired, login_redirect

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is opened in the lifespan, not here."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Land Window 土地窗口",
        description="County land-resources service window with the one-map check.",
        version="0.1.0",
        lifespan=make_lifespan(settings),
        docs_url=None,  # FastAPI's own pages load Swagger UI and ReDoc from a CDN: ours serve the vendored copy
        redoc_url=None,
        # a form's text field may carry a kept boundary file, base64-encoded (the intake form): as large as the file
        # limit allows; the whole body is bounded before it is read (service/http/bodies.py)
        form_limits={"max_part_size": settings.max_upload_bytes * 4 // 3 + 4096},
    )
    app.state.settings = settings
    install_log_masking()  # ID numbers and mobile numbers masked in every log line, uvicorn's access log included
    # inside the security headers (added last, so outermost): a 413 carries them too
    app.add_middleware(RequestBodyLimit, settings=settings, refusal=web_errors.too_large)
    app.add_middleware(SecurityHeaders, settings=settings)
    errors.install(app)
    web_errors.install(app)  # page routes show domain errors as pages; /api/ keeps JSON
    install_login_redirect(app)
    app.include_router(api_router())
    for pages in (workbench, intake, case, documents, filing, portal, online, reports, planner, onemap):
        app.include_router(pages.router)
    install_api_docs(app, settings.static_url)
    STATIC_DIR.mkdir(exist_ok=True)
    app.mount(settings.static_url, StaticFiles(directory=STATIC_DIR), name="static")
    return app


def install_login_redirect(app: FastAPI) -> None:
    """Send browsers that need a login to the login page."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return login_redirect(exc.next_url)

    app.add_exception_handler(LoginRequired, to_login)


def install_api_docs(app: FastAPI, static_url: str) -> None:
    """Serve Swagger UI at /docs from the app's own static files (offline networks reach no CDN)."""
    vendor = f"{static_url}/vendor/swagger-ui-dist"

    async def docs(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url="data:,",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )
        return HTMLResponse(nonced(bytes(page.body).decode(), request))  # Swagger UI starts from an inline script

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return HTMLResponse(nonced(bytes(get_swagger_ui_oauth2_redirect_html().body).decode(), request))

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", oauth2_redirect, methods=["GET"], include_in_schema=False)
