"""Request-body limits: each route's largest body (service/data/request_bodies.toml, sizes from the settings) is
enforced before the body is read, as one ASGI middleware.

A Content-Length over the limit is answered 413 at once, without reading a byte of the body. A body without one
(chunked) is counted as it streams to the route (Starlette's RequestBodyLimitResponder); once it passes the limit the
route's reading stops with a 413, so no upload is spooled past the limit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from service.access import permissions
from service.core.errors import TooLarge
from service.core.settings import Settings
from service.core.tables import read_table

Refusal = Callable[[Request, TooLarge], Awaitable[Response]]


@dataclass(frozen=True)
class BodyLimit:
    """The largest body of a class of routes and the setting it comes from."""

    name: str
    bytes: int
    setting: str

    def refusal(self) -> TooLarge:
        """Return the 413 naming the limit and its setting."""
        size = f"{self.bytes / 1_048_576:.2f} MiB" if self.bytes >= 1_048_576 else f"{self.bytes / 1024:g} KiB"
        return TooLarge(
            f"请求内容超过此处 {size} 的上限（{self.setting}）/ the request body is larger than this route's limit of "
            f"{size} ({self.setting})",
            limit_bytes=self.bytes,
            setting=self.setting,
        )


def body_limits(settings: Settings) -> dict[str, BodyLimit]:
    """Return the limit of each class of routes from the settings."""
    return {
        "upload": BodyLimit(
            "upload", settings.max_upload_bytes * 4 // 3 + settings.max_form_bytes, "LANDWINDOW_MAX_UPLOAD_BYTES"
        ),
        "photos": BodyLimit(
            "photos",
            _photo_bytes() * 4 // 3 + settings.max_upload_bytes * 4 // 3 + settings.max_form_bytes,
            "sitevisits.toml [photos] + LANDWINDOW_MAX_UPLOAD_BYTES",
        ),
        "online": BodyLimit(
            "online",
            _online_bytes() + settings.max_upload_bytes * 4 // 3 + settings.max_form_bytes,
            "online.toml [materials] + LANDWINDOW_MAX_UPLOAD_BYTES",
        ),
        "anonymous": BodyLimit("anonymous", settings.max_anonymous_bytes, "LANDWINDOW_MAX_ANONYMOUS_BYTES"),
        "form": BodyLimit("form", settings.max_form_bytes, "LANDWINDOW_MAX_FORM_BYTES"),
    }


def _compiled(routes: list[str] | frozenset[str]) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for route in sorted(routes):
        method, path = route.split(" ", 1)
        out.append((method, compile_path(path)[0]))
    return out


def _photo_bytes() -> int:
    photos = read_table("sitevisits.toml")["photos"]
    return int(photos["max_bytes"]) * int(photos["max_count"])


def _online_bytes() -> int:
    # multipart framing of each file (its headers, its boundary) is far below a kilobyte: counted as one
    materials = read_table("online.toml")["materials"]
    return int(materials["max_total_bytes"]) + 1024 * int(materials["max_files"])


@cache
def upload_routes() -> frozenset[str]:
    """Return the routes that take a file or a drawn boundary (service/data/request_bodies.toml)."""
    table = read_table("request_bodies.toml")
    return frozenset(table["upload"]["routes"]) | frozenset(table["photos"]["routes"]) | online_routes()


@cache
def online_routes() -> frozenset[str]:
    """Return the online window's public routes that take an applicant's files."""
    return frozenset(read_table("request_bodies.toml")["online"]["routes"])


@cache
def photo_routes() -> frozenset[str]:
    """Return the routes that take a site visit's photos with an as-built file."""
    return frozenset(read_table("request_bodies.toml")["photos"]["routes"])


@cache
def _classes() -> list[tuple[str, list[tuple[str, re.Pattern[str]]]]]:
    return [
        ("photos", _compiled(photo_routes())),
        ("online", _compiled(online_routes())),
        ("upload", _compiled(upload_routes() - photo_routes() - online_routes())),
        ("anonymous", _compiled(permissions.table().public_routes)),
    ]


def route_class(method: str, path: str) -> str:
    """Return the body class of a request: photos, online, upload, anonymous (a public route) or form."""
    for name, routes in _classes():
        if any(m == method and pattern.match(path) for m, pattern in routes):
            return name
    return "form"


LIMIT_SCOPE_KEY = "landwindow.body_limit"
"""Where the request's BodyLimit is kept in the ASGI scope (the 413's message names it)."""


def refusal_of(scope: Scope) -> TooLarge | None:
    """Return the 413 of a request whose body passed its limit while streaming (None outside RequestBodyLimit)."""
    limit = scope.get(LIMIT_SCOPE_KEY)
    return limit.refusal() if isinstance(limit, BodyLimit) else None


async def json_refusal(request: Request, exc: TooLarge) -> Response:
    """Answer a body over its limit as the API's ErrorOut JSON."""
    return JSONResponse({"detail": exc.message, "error": type(exc).__name__, **exc.details}, status_code=413)


class RequestBodyLimit:
    """Refuse (413) a request whose body is larger than its route's limit, before the route reads it.

    A declared Content-Length over the limit is answered here, before routing. A streamed body is counted by
    Starlette's RequestBodyLimitResponder as the route reads it; past the limit it raises an HTTPException(413) into
    the route, answered by the app's handlers with this limit's message (refusal_of).
    """

    def __init__(self, app: ASGIApp, settings: Settings, refusal: Refusal = json_refusal) -> None:
        self.app = app
        self.limits = body_limits(settings)
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, else count the body as the route reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits[route_class(scope["method"], scope["path"])]
        scope[LIMIT_SCOPE_KEY] = limit
        declared = Headers(scope=scope).get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit.bytes:
            response = await self.refusal(Request(scope), limit.refusal())
            response.headers["Connection"] = "close"  # the body is never read
            await response(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit.bytes)(scope, receive, send)
