"""The app's lifespan: settings validated, the database pools and engines opened once, closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import orjson
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from service.core.db import database_url, make_engine
from service.core.settings import Settings
from service.http.reads import CONNECT_TIMEOUT, ReadRouting, Replica
from service.http.tilecache import TileCache


async def _configure(conn: AsyncConnection) -> None:
    # check reports come back as JSON of a few hundred kB: orjson parses them several times faster
    set_json_loads(orjson.loads, conn)
    # Requests are short: a dense z14 tile was planned as a parallel scan whose workers' start-up and Gather cost
    # more than they saved (p50 29 ms against 16 ms in bench/tiles.py). Parallel query stays on for the ORM's
    # batch work (recheck, statistics).
    await conn.execute("SET max_parallel_workers_per_gather = 0")
    await conn.commit()


def _pool(url: str, settings: Settings, name: str, **kwargs: object) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        url,
        min_size=2,
        max_size=settings.db_pool_size,
        kwargs={"autocommit": True, "application_name": name, **kwargs},
        configure=_configure,
        open=False,
    )


def make_lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Return a lifespan that opens the pools (hot-path SQL) and the SQLAlchemy engines (the ORM).

    The primary's pool must open; a replica that is down at start-up is set aside by its first check and taken
    back when a later check finds it well.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        pool = _pool(url, settings, "landwindow")
        await pool.open(wait=True, timeout=30)
        engine = make_engine(url, pool_size=settings.db_pool_size)
        replicas = []
        for number, replica_url in enumerate(settings.replica_urls, 1):
            replica_pool = _pool(replica_url, settings, "landwindow-read", connect_timeout=CONNECT_TIMEOUT)
            await replica_pool.open(wait=False)
            replica_engine = make_engine(replica_url, settings.db_pool_size, connect_timeout=CONNECT_TIMEOUT)
            replicas.append(Replica(number, replica_url, replica_pool, replica_engine))
        reads = ReadRouting(pool, engine, replicas, settings.replica_max_lag_seconds)
        await reads.check()
        watch = asyncio.create_task(reads.watch(settings.replica_check_seconds)) if replicas else None
        app.state.settings = settings
        app.state.pool = pool
        app.state.engine = engine
        app.state.reads = reads
        app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20)
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            for replica in replicas:
                await replica.pool.close()
                replica.engine.dispose()
            await pool.close()
            engine.dispose()

    return lifespan
