"""The app's lifespan: settings validated, the database pools and engines opened once, closed at shutdown; leftovers
of killed processes removed at start-up, and expired sessions and attempt counts swept while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import orjson
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gis.boundary import BoundaryError
from gis.boundary.bounded import start_parsers
from service.access.auth import forget_old_sessions
from service.access.failures import FailureLimiter
from service.core.db import database_url, make_engine
from service.core.settings import Settings
from service.http.reads import CONNECT_TIMEOUT, ReadRouting, Replica
from service.http.tilecache import TileCache
from service.notify.delivery import worker

logger = logging.getLogger(__name__)

TEMP_PREFIXES = ("landwindow-upload-", "landwindow-unzip-", "landwindow-export-")
"""Temporary folders the boundary readers and writers make (gis/boundary) and the exports (service/reports)."""
STALE_TEMP_SECONDS = 600
"""A temporary folder older than this belongs to no parse or export still running (they take seconds)."""
SWEEP_SECONDS = 600
"""How often expired attempt counts, old sessions and stale temporary folders are deleted."""


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
        timeout=settings.db_wait_seconds,
        kwargs={"autocommit": True, "application_name": name, **kwargs},
        configure=_configure,
        open=False,
        # the pool's reconnection backs off exponentially without a cap until it gives up: after a long outage it
        # would wait minutes before trying again; giving up after 10 s lets the next request start afresh (1 s)
        reconnect_timeout=10,
    )


def remove_stale_temp_files(root: Path | None = None, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temporary upload and export folders a killed process left behind; return what was removed.

    Only folders untouched for `older_than` seconds go: another worker of the same server may be parsing right now.
    """
    base = Path(root or tempfile.gettempdir())
    cutoff = time.time() - older_than
    removed = []
    for prefix in TEMP_PREFIXES:
        for path in base.glob(f"{prefix}*"):
            try:
                if path.lstat().st_mtime > cutoff or path.is_symlink():
                    continue
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
            except OSError as exc:  # another worker removed it first, or it is not ours to remove
                logger.debug("could not remove %s: %s", path, exc)
    if removed:
        logger.info("removed %d temporary files left by stopped processes", len(removed))
    return removed


def start_boundary_parsers() -> None:
    """Start the boundary parser processes (gis.boundary.bounded) so the first upload does not wait for them."""
    try:
        start_parsers()
    except (OSError, BoundaryError) as exc:  # they start again at the first upload, which then says why
        logger.warning("boundary parser processes did not start: %s", exc)


def sweep(engine: Engine, limiter: FailureLimiter) -> None:
    """Delete expired attempt counts and sessions long over (every worker may run it: it is idempotent)."""
    limiter.sweep()
    with Session(engine) as session, session.begin():
        forget_old_sessions(session)


async def _sweep_forever(engine: Engine, limiter: FailureLimiter) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        # a parser process killed at its deadline leaves its folder: gone within two sweeps, without a restart
        await asyncio.to_thread(remove_stale_temp_files)
        try:
            await asyncio.to_thread(sweep, engine, limiter)
        except Exception as exc:  # noqa: BLE001 - a database outage must not end the sweeping for good
            logger.warning("sweeping expired sessions and attempt counts failed: %s", exc)


def make_lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Return a lifespan that opens the pools (hot-path SQL) and the SQLAlchemy engines (the ORM).

    The primary's pool must open; a replica that is down at start-up is set aside by its first check and taken
    back when a later check finds it well.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(remove_stale_temp_files)
        # in the background: a start-up never waits for them (and they outlive an app of the same process, as in tests)
        threading.Thread(target=start_boundary_parsers, name="boundary-parsers", daemon=True).start()
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
        limiter = FailureLimiter.from_settings(engine, settings)
        app.state.failure_limiter = limiter
        app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20)
        await asyncio.to_thread(sweep, engine, limiter)
        sweeper = asyncio.create_task(_sweep_forever(engine, limiter))
        # the text messages of the outbox, sent from this process (`landwindow serve`) unless cron runs `notify send`
        sending = asyncio.create_task(worker(engine, settings)) if settings.notify_worker else None
        try:
            yield
        finally:
            for task in (sweeper, watch, sending):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for replica in replicas:
                await replica.pool.close()
                replica.engine.dispose()
            await pool.close()
            engine.dispose()

    return lifespan
