"""Every API router in one."""

from fastapi import APIRouter

from service.http.api import (
    auth,
    cases,
    checks,
    conversions,
    exports,
    health,
    online,
    public,
    reports,
    rights,
    tiles,
    visits,
)
from service.http.api.filings import router as filings_router


def api_router() -> APIRouter:
    """Return every service router (health, tiles, /api/v1) in one."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(tiles.router)
    router.include_router(auth.router)
    router.include_router(cases.router)
    router.include_router(exports.router)
    router.include_router(rights.router)
    router.include_router(visits.router)
    router.include_router(public.router)
    router.include_router(online.router)
    router.include_router(checks.router)
    router.include_router(reports.router)
    router.include_router(conversions.router)
    router.include_router(filings_router)
    return router
