"""The ASGI application: the service's API, the web pages and the locally served static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from service.api import api_router, errors
from service.api.lifespan import make_lifespan
from service.personal import install_log_masking
from service.settings import Settings, get_settings
from web import case_documents, pages, planner, portal, reports, workbench
from web import errors as web_errors
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
    )
    app.state.settings = settings
    install_log_masking()  # ID numbers and mobile numbers masked in every log line, uvicorn's access log included
    app.add_middleware(SecurityHeaders, settings=settings)
    errors.install(app)
    web_errors.install(app)  # page routes show domain errors as pages; /api/ keeps JSON
    install_login_redirect(app)
    app.include_router(api_router())
    app.include_router(workbench.router)
    app.include_router(case_documents.router)
    app.include_router(portal.router)
    app.include_router(reports.router)
    app.include_router(planner.router)
    app.include_router(pages.router)
    STATIC_DIR.mkdir(exist_ok=True)
    app.mount(settings.static_url, StaticFiles(directory=STATIC_DIR), name="static")
    return app


def install_login_redirect(app: FastAPI) -> None:
    """Send browsers that need a login to the login page."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return login_redirect(exc.next_url)

    app.add_exception_handler(LoginRequired, to_login)
