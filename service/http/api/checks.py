"""The one-map check on its own: a boundary and a kind in, the report out (nothing stored)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from gis.check import CheckInputError, run_check_async
from gis.check.rules import KINDS
from service.access.auth import Principal
from service.cases.boundaries import boundary_from_geojson, boundary_from_upload, county_extent_async
from service.cases.checking import check_request, recheck_open_cases
from service.core.errors import InvalidInput
from service.http.deps import ConnDep, PoolDep, SessionDep, SettingsDep, permission

router = APIRouter(prefix="/api/v1", tags=["checks"])


@router.post("/checks", summary="Check a boundary against the one map")
async def check(
    conn: ConnDep,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Annotated[Principal, permission("check.run")],
    kind: Annotated[str, Form(description="homestead | requisition | mining")],
    file: Annotated[
        UploadFile | None,
        File(description="界址点TXT, 矿业权拐点, CSV/XLSX point table, GeoJSON, zipped Shapefile, GPKG, KML"),
    ] = None,
    geojson: Annotated[str | None, Form(description="a polygon drawn on the map (GeoJSON, lon/lat)")] = None,
    household_id: Annotated[str | None, Form(max_length=50)] = None,
    depth_top: Annotated[float | None, Form()] = None,
    depth_bottom: Annotated[float | None, Form()] = None,
) -> Response:
    """Return the JSON check report for an uploaded file or a drawn polygon."""
    if kind not in KINDS:
        raise InvalidInput(f"未知申请类型 unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if (file is None) == (geojson is None):
        raise InvalidInput("请上传一个用地范围文件或提供绘制的范围（二选一）/ give exactly one of file or geojson")
    extent = await county_extent_async(settings, conn)
    # parsed in the thread pool: a hostile file costs a worker thread (bounded in time), never the event loop
    if file is not None:
        data = await file.read(settings.max_upload_bytes + 1)
        name = file.filename or "boundary"
        boundary = await run_in_threadpool(boundary_from_upload, data, name, settings.max_upload_bytes, extent)
    else:
        boundary = await run_in_threadpool(boundary_from_geojson, geojson or "", extent)
    req = check_request(
        settings,
        kind,
        boundary.geometry,
        household_id=household_id,
        depth_top=depth_top,
        depth_bottom=depth_bottom,
        county=principal.county,
    )
    try:
        report = await run_check_async(conn, req, pool=pool)
    except CheckInputError as exc:
        raise InvalidInput(str(exc)) from exc
    # encoded straight away: the report is plain JSON data, FastAPI's per-field encoding would only cost time
    return Response(orjson.dumps({**report.to_dict(), "boundary": boundary.source}), media_type="application/json")


@router.post("/recheck", summary="Re-run the check of every open case against today's map")
def recheck(session: SessionDep, principal: Annotated[Principal, permission("check.recheck")]) -> dict[str, Any]:
    """Recheck open cases in one batch and list those whose verdict changed."""
    total, changes = recheck_open_cases(session, principal.actor)
    return {"checked": total, "changed": [c.__dict__ for c in changes]}
