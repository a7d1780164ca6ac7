"""GET /healthz: database status, PostGIS version, every layer's version and count, and where reads go."""

from __future__ import annotations

import logging
import os

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gis.catalog import all_layers
from service.http.deps import PoolDep, ReadsDep

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/healthz", summary="Health: database, PostGIS, layer versions and the read replicas")
async def healthz(pool: PoolDep, reads: ReadsDep) -> JSONResponse:
    """Report whether the primary answers, its PostGIS version, each layer's version and count, each replica, and
    the server process that answered.

    `reads` says where read-only work goes: "replicas", or "primary" when none is configured or usable. A replica
    that is set aside (down, not a standby, or behind by more than LANDWINDOW_REPLICA_MAX_LAG_SECONDS) makes the
    status "degraded": the app still answers everything from the primary.
    """
    try:
        async with pool.connection(timeout=min(5.0, pool.timeout)) as conn:
            cur = await conn.execute("SELECT postgis_lib_version()")
            row = await cur.fetchone()
            cur = await conn.execute("SELECT layer, version, feature_count FROM layer_versions")
            rows = await cur.fetchall()
    except Exception as exc:  # the point of a health check is to report, not raise
        # what the driver says (host, port, user, the server's words) goes to the log, not to whoever asks
        logger.warning("health check: the database is unreachable: %s", exc)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    known = {r[0]: {"version": int(r[1]), "count": int(r[2])} for r in rows}
    layers = {name: known.get(name, {"version": 0, "count": 0}) for name in all_layers()}
    routing = reads.status()
    degraded = any(r["state"] in ("down", "behind") for r in routing["replicas"])
    return JSONResponse(
        {
            "status": "degraded" if degraded else "ok",
            "database": "ok",
            "postgis": row[0] if row else None,
            "layers": layers,
            **routing,
            "worker": os.getpid(),  # which server process answered (`landwindow serve --workers N`)
        }
    )
