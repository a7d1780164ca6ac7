"""GET /healthz: database status, PostGIS version and every layer's version and count."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gis.catalog import all_layers
from service.http.deps import PoolDep

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/healthz", summary="Health: database, PostGIS and layer versions")
async def healthz(pool: PoolDep) -> JSONResponse:
    """Report whether the database answers, its PostGIS version and each layer's version and count."""
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
    return JSONResponse({"status": "ok", "database": "ok", "postgis": row[0] if row else None, "layers": layers})
