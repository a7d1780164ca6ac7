"""Errors on the web pages: a domain error (or an unknown page) on a page route is shown as a styled page in the
user's language with its 4xx status; /api/ paths keep the API's JSON answer."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.errors import DomainError, NotAuthenticated, TooLarge
from service.http.bodies import json_refusal, refusal_of
from service.http.errors import OUTAGE_MESSAGE, OUTAGES, status_for
from web.i18n import lang_of, translator
from web.pages.common import page
from web.session import login_redirect, session_user

# Paths answered for programs, not people: they keep the JSON errors.
MACHINE_PREFIXES = ("/api/", "/tiles/", "/docs/")
MACHINE_PATHS = ("/api", "/docs", "/redoc", "/openapi.json", "/healthz")
# HTTP errors of the framework itself shown as pages (others, such as a rate limit's 429, keep their own handler)
PAGE_HTTP_STATUSES = {404, 405, 413}


def is_page(request: Request) -> bool:
    """Return whether the request is for a web page (not the API, not a static asset, not the API docs)."""
    path = request.url.path
    machine = (*MACHINE_PREFIXES, request.app.state.settings.static_url.rstrip("/") + "/")
    return not (path.startswith(machine) or path in MACHINE_PATHS)


async def error_page(
    request: Request, status: int, message: str, fields: list[dict[str, Any]] | None = None
) -> Response:
    """Render the error page: what went wrong, where (method and page), and the way back."""
    t = translator(lang_of(request))
    key = f"error_{status}"
    title = t(key) if key != t(key) else t("error_title")
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    back = referer if referer.startswith(base) and referer != str(request.url) else "/"
    return page(
        request,
        "error.html",
        {
            "status": status,
            "title": title,
            "message": message,
            "fields": fields or [],
            "where": f"{request.method} {request.url.path}",
            "back": back,
        },
        user=await session_user(request),
        status=status,
    )


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call the handler registered before ours (sync or async)."""
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def install(app: FastAPI) -> None:
    """Register the page-aware handlers in front of the API's JSON ones (call after service.api.errors.install)."""
    json_domain = app.exception_handlers[DomainError]
    json_http = app.exception_handlers[StarletteHTTPException]
    json_validation = app.exception_handlers[RequestValidationError]

    async def domain(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(json_domain, request, exc)
        if isinstance(exc, NotAuthenticated):
            return login_redirect(request.url.path)
        assert isinstance(exc, DomainError)
        return await error_page(request, status_for(exc), exc.message)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page(request) or exc.status_code not in PAGE_HTTP_STATUSES:
            return await _delegate(json_http, request, exc)
        t = translator(lang_of(request))
        refusal = refusal_of(request.scope) if exc.status_code == 413 else None
        message = t("error_page_missing") if exc.status_code == 404 else str(exc.detail)
        return await error_page(request, exc.status_code, refusal.message if refusal else message)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_page(request):
            return await _delegate(json_validation, request, exc)
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "—", "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        zh = "、".join(f["field"] for f in fields)
        return await error_page(
            request,
            422,
            f"表单填写有误：{zh} / the form has invalid or missing fields: {', '.join(f['field'] for f in fields)}",
            fields,
        )

    json_outage = app.exception_handlers[OUTAGES[0]]

    async def outage(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(json_outage, request, exc)
        return await error_page(request, 503, OUTAGE_MESSAGE)

    app.add_exception_handler(DomainError, domain)
    for cls in OUTAGES:
        app.add_exception_handler(cls, outage)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(RequestValidationError, validation)


async def too_large(request: Request, exc: TooLarge) -> Response:
    """Answer a request body over its limit: the error page on a page route, the API's JSON elsewhere."""
    if not is_page(request):
        return await json_refusal(request, exc)
    return await error_page(request, 413, exc.message)
