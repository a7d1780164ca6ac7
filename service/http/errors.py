"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.catalog import CatalogError
from gis.importer import LayerImportError
from service.core import errors
from service.http.bodies import json_refusal, refusal_of

logger = logging.getLogger(__name__)

STATUS: dict[type[Exception], int] = {
    errors.BadRequest: 400,
    errors.InvalidInput: 422,
    errors.TooLarge: 413,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.TooManyAttempts: 429,
    errors.Unavailable: 503,
    CatalogError: 404,
    LayerImportError: 422,
}


OUTAGES: tuple[type[Exception], ...] = (
    psycopg.OperationalError,  # the pool's PoolTimeout too: no connection came within LANDWINDOW_DB_WAIT_SECONDS
    psycopg.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
"""What the database driver raises when the database is down or unreachable: answered 503, never a 500."""
OUTAGE_MESSAGE = "数据库暂时无法访问，请稍后再试 / the database cannot be reached right now; try again shortly"

DESCRIPTIONS = {
    400: "Bad request (a request that cannot mean anything)",
    401: "Not logged in, or the token has expired",
    403: "The role may not do this",
    404: "Not found (or not visible to the asker)",
    409: "Conflicts with the current state (stale version, illegal transition, duplicate)",
    413: "The request body (or the file in it) is larger than its limit; the message names the setting",
    422: "Invalid input: request validation (a list of field errors) or a domain refusal (a sentence)",
    429: "Too many failed attempts from this address or for this name (see Retry-After)",
    503: "The database is not reachable",
}


class IssueOut(BaseModel):
    """One problem found in an uploaded file."""

    code: str
    line: int | None = None
    field: str | None = None
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    """A refusal: what went wrong in Chinese and English, the error's name and any details (extra keys)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="中文 / English sentence saying what and where")
    error: str | None = Field(default=None, description="the error's name, e.g. InvalidInput, Conflict")
    issues: list[IssueOut | str] | None = Field(default=None, description="every problem of an uploaded file")


def status_for(exc: Exception) -> int:
    """Return the HTTP status of a domain error (the nearest mapped base class; 400 otherwise)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def install(app: FastAPI) -> None:
    """Register the handlers that turn domain errors into JSON error responses."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        message = getattr(exc, "message", None) or str(exc)
        body: dict[str, object] = {"detail": message, "error": type(exc).__name__}
        details = getattr(exc, "details", None)
        if details:
            body.update(details)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.NotAuthenticated) else None
        if isinstance(exc, errors.TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=status_for(exc), headers=headers)

    async def data_error(request: Request, exc: Exception) -> JSONResponse:
        # SQLSTATE class 22 (and psycopg's own refusal of NUL characters): a value from the request that PostgreSQL
        # cannot store or compare. The fuzz test found NUL bytes in a case's fields answered with a 500.
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
        body = {
            "detail": f"请求中有数据库无法接受的值 / a value in the request cannot be stored: {reason}",
            "error": "InvalidInput",
        }
        return JSONResponse(body, status_code=422)

    async def outage(request: Request, exc: Exception) -> JSONResponse:
        # what the driver says (host, port, the server's message) is for the log, not for whoever asked
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": OUTAGE_MESSAGE, "error": "Unavailable"}, status_code=503)

    default_http = app.exception_handlers[StarletteHTTPException]

    async def http(request: Request, exc: Exception) -> Response:
        # a streamed body that passed its route's limit (service/http/bodies.py): name the limit and its setting
        refusal = refusal_of(request.scope) if getattr(exc, "status_code", None) == 413 else None
        if refusal is not None:
            return await json_refusal(request, refusal)
        result = default_http(request, exc)
        return await result if inspect.isawaitable(result) else result

    for cls in (errors.DomainError, CatalogError, LayerImportError):
        app.add_exception_handler(cls, handle)
    app.add_exception_handler(StarletteHTTPException, http)
    for outage_cls in OUTAGES:
        app.add_exception_handler(outage_cls, outage)
    for data_cls in (DataError, psycopg.DataError):
        app.add_exception_handler(data_cls, data_error)
    install_openapi(app)


def install_openapi(app: FastAPI) -> None:
    """Declare the error answers of every API operation in the OpenAPI document (their bodies are ErrorOut)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = declare_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the domain error responses to every operation; 422 is either FastAPI's field list or a domain refusal."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, description in DESCRIPTIONS.items():
                body: dict[str, Any] = error_ref
                declared = responses.get(str(status), {}).get("content", {}).get("application/json", {}).get("schema")
                if declared is not None and declared != error_ref:
                    body = {"anyOf": [declared, error_ref]}
                responses[str(status)] = {"description": description, "content": {"application/json": {"schema": body}}}
    return schema
