"""The app's lifespan: settings validated, the database pool and engine opened once, closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import orjson
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from service.core.db import database_url, make_engine
from service.core.settings import Settings
from service.http.tilecache import TileCache


async def _configure(conn: AsyncConnection) -> None:
    # check reports come back as JSON of a few hundred kB: orjson parses them several times faster
    set_json_loads(orjson.loads, conn)
    # Requests are short: a dense z14 tile was planned as a parallel scan whose workers' start-up and Gather cost
    # more than they saved (p50 29 ms against 16 ms in bench/tiles.py). Parallel query stays on for the ORM's
    # batch work (recheck, statistics).
    await conn.execute("SET max_parallel_workers_per_gather = 0")
    await conn.commit()


def make_lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Return a lifespan that opens the pool (hot-path SQL) and the SQLAlchemy engine (the ORM)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        pool = AsyncConnectionPool(
            url,
            min_size=2,
            max_size=settings.db_pool_size,
            kwargs={"autocommit": True, "application_name": "landwindow"},
            configure=_configure,
            open=False,
        )
        await pool.open(wait=True, timeout=30)
        engine = make_engine(url, pool_size=settings.db_pool_size)
        app.state.settings = settings
        app.state.pool = pool
        app.state.engine = engine
        app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20)
        try:
            yield
        finally:
            await pool.close()
            engine.dispose()

    return lifespan
