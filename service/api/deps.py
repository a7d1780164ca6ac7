"""FastAPI dependencies: settings and the database pool opened in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from service.errors import Unavailable
from service.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    return request.app.state.settings


def get_pool(request: Request) -> AsyncConnectionPool:
    """Return the connection pool opened in the lifespan."""
    pool = getattr(request.app.state, "pool", None)
    if pool is None:
        raise Unavailable("数据库连接池未打开 / the database pool is not open")
    return pool


async def get_conn(pool: Annotated[AsyncConnectionPool, Depends(get_pool)]) -> AsyncIterator[AsyncConnection]:
    """Yield a pooled connection for one request."""
    async with pool.connection() as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
