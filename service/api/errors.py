"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gis.catalog import CatalogError
from gis.importer import LayerImportError
from service import errors

STATUS: dict[type[Exception], int] = {
    errors.BadRequest: 400,
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.Unavailable: 503,
    CatalogError: 404,
    LayerImportError: 422,
}


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
        return JSONResponse(body, status_code=status_for(exc), headers=headers)

    for cls in (errors.DomainError, CatalogError, LayerImportError):
        app.add_exception_handler(cls, handle)
