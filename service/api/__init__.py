"""REST API routers of the service."""

from fastapi import APIRouter

from service.api import health, tiles


def api_router() -> APIRouter:
    """Return every service router (health, tiles, /api/v1) in one."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(tiles.router)
    return router
