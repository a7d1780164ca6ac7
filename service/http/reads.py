"""Read-only work on streaming replicas (LANDWINDOW_REPLICA_URLS), and back on the primary when none can serve.

A replica takes the reads that may be a moment behind the primary: vector tiles, TileJSON, the public map, the
planners' views and the statistics. Writes, checks and whatever must see the latest layer versions stay on the
primary: a check's verdict is stored with the layer versions it ran against, so a replica that has not yet replayed
a re-import would judge an application against yesterday's map. Waiting on the replica until it has replayed past
the primary's current WAL position was the other way; it costs a round trip to the primary on every read — the very
load a replica is there to take — so such reads simply run on the primary.

Each replica is checked every `replica_check_seconds`: reachable, still a standby, and how far behind. A replica
that has not replayed what the primary had written `replica_max_lag_seconds` ago is set aside until it catches up.
A replica connection that breaks mid-request sets it aside at once and the request is answered from the primary.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

log = logging.getLogger("landwindow.reads")

T = TypeVar("T")
State = Literal["up", "down", "behind", "unchecked"]

CONNECT_TIMEOUT = 3  # seconds: a replica that does not answer this fast is treated as down
REPLICA_STATE_SQL = (
    "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(COALESCE(pg_last_wal_replay_lsn(), '0/0'), '0/0')::bigint"
)
PRIMARY_LSN_SQL = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"


@dataclass
class Replica:
    """One streaming replica: its pools and what its last check found."""

    number: int
    url: str
    pool: AsyncConnectionPool
    engine: Engine
    state: State = "unchecked"
    reason: str | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    checked_at: float | None = None

    @property
    def usable(self) -> bool:
        """Return whether reads may go to this replica (unchecked ones are tried; a failure sets them aside)."""
        return self.state in ("up", "unchecked")

    def status(self) -> dict[str, Any]:
        """Return what /healthz shows of this replica (no address: /healthz is public)."""
        return {
            "replica": self.number,
            "state": self.state,
            "reason": self.reason,
            "lag_bytes": self.lag_bytes,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 1),
        }


@dataclass
class ReadRouting:
    """Where read-only work runs: a usable replica in turn, else the primary."""

    primary: AsyncConnectionPool
    engine: Engine
    replicas: list[Replica] = field(default_factory=list)
    max_lag_seconds: float = 30.0
    _turn: Iterator[int] = field(default_factory=itertools.count)
    # (monotonic time, primary WAL position) at each check: how far back a replica's replay position reaches
    _primary_lsns: deque[tuple[float, int]] = field(default_factory=deque)

    def pick(self) -> Replica | None:
        """Return the next usable replica, or None when reads go to the primary."""
        usable = [r for r in self.replicas if r.usable]
        return usable[next(self._turn) % len(usable)] if usable else None

    def set_aside(self, replica: Replica, exc: BaseException) -> None:
        """Stop reading from a replica whose connection failed, until a check finds it well again."""
        if replica.state != "down":
            log.warning("replica %d set aside, reads go to the primary: %s", replica.number, exc)
        replica.state, replica.reason = "down", "unreachable"

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run read-only work on a replica's pooled connection; on the primary when none is usable or it fails."""
        replica = self.pick()
        if replica is not None:
            try:
                async with replica.pool.connection(timeout=CONNECT_TIMEOUT) as conn:
                    try:
                        return await work(conn)
                    except psycopg.OperationalError as exc:
                        # A broken connection means the replica went away. Otherwise (a query cancelled by a
                        # recovery conflict, say) the replica stays in turn; either way the primary answers.
                        if conn.broken or conn.closed:
                            self.set_aside(replica, exc)
            except PoolTimeout as exc:
                self.set_aside(replica, exc)
        async with self.primary.connection() as conn:
            return await work(conn)

    @contextmanager
    def session(self, info: dict[str, Any]) -> Iterator[Session]:
        """Yield a read-only ORM session on a usable replica, else on the primary; rolled back at the end."""
        connection: Connection | None = None
        replica = self.pick()
        if replica is not None:
            try:
                connection = replica.engine.connect()  # pre-ping: a dead pooled connection is found here
            except DBAPIError as exc:
                self.set_aside(replica, exc)
        if connection is None:
            connection = self.engine.connect()
        # read-only even on the primary: a route that reads here and tried to write would fail in every test
        connection = connection.execution_options(postgresql_readonly=True)
        with connection, Session(bind=connection, info=info, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    async def check(self) -> None:
        """Check every replica: reachable, still a standby, and how long ago it was level with the primary."""
        if not self.replicas:
            return
        now = time.monotonic()
        try:
            async with self.primary.connection(timeout=CONNECT_TIMEOUT) as conn:
                row = await (await conn.execute(PRIMARY_LSN_SQL)).fetchone()
            primary_lsn = int(row[0]) if row else 0
            self._primary_lsns.append((now, primary_lsn))
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("replica check: the primary did not answer: %s", exc)
            primary_lsn = None
        horizon = now - self.max_lag_seconds
        # keep the newest sample older than the horizon: it is the position a usable replica must have reached
        while len(self._primary_lsns) > 1 and self._primary_lsns[1][0] <= horizon:
            self._primary_lsns.popleft()
        for replica in self.replicas:
            await self._check(replica, now, primary_lsn)

    async def _check(self, replica: Replica, now: float, primary_lsn: int | None) -> None:
        replica.checked_at = time.time()
        try:
            conn = await AsyncConnection.connect(replica.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            async with conn:
                row = await (await conn.execute(REPLICA_STATE_SQL)).fetchone()
        except psycopg.Error as exc:
            self.set_aside(replica, exc)
            replica.lag_bytes = replica.lag_seconds = None
            return
        in_recovery, replayed = (bool(row[0]), int(row[1])) if row else (False, 0)
        if not in_recovery:
            if replica.state != "down":
                log.warning("replica %d is not a standby (promoted?): not read from", replica.number)
            replica.state, replica.reason = "down", "not a standby"
            return
        replica.lag_bytes = max(0, primary_lsn - replayed) if primary_lsn is not None else None
        # how stale the replica is: since the newest check at which the primary had written no more than it replayed
        level = [t for t, lsn in self._primary_lsns if lsn <= replayed]
        replica.lag_seconds = now - level[-1] if level else now - self._primary_lsns[0][0] if self._primary_lsns else 0
        if replica.lag_bytes == 0:
            replica.lag_seconds = 0.0
        behind = replica.lag_seconds > self.max_lag_seconds
        if behind and replica.state != "behind":
            log.warning("replica %d is %.0f s behind the primary: not read from", replica.number, replica.lag_seconds)
        elif not behind and replica.state in ("down", "behind"):
            log.warning("replica %d is back in turn", replica.number)
        replica.state, replica.reason = ("behind", "replay lag") if behind else ("up", None)

    async def watch(self, every: float) -> None:
        """Check the replicas every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.check()
            except Exception:  # a check must never stop the checking
                log.exception("replica check failed")

    def status(self) -> dict[str, Any]:
        """Return where reads go and each replica's state, for /healthz."""
        usable = any(r.usable for r in self.replicas)
        return {
            "reads": "replicas" if usable else "primary",
            "replicas": [r.status() for r in self.replicas],
        }
