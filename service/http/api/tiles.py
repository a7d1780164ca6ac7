"""Vector tiles and TileJSON for every catalog layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gis.catalog import LayerSpec, case_layer, layer
from gis.tiles import MAX_ZOOM, TileAddress, TileRequestError, extent_query, tile_query, version_query
from service.access.auth import Principal
from service.core.errors import BadRequest
from service.http.deps import ConnDep, SettingsDep, permission
from service.http.tilecache import TileCache

router = APIRouter(tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


@router.get(
    "/tiles/{layer_name}/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of a layer",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def tile(
    layer_name: str, z: int, x: int, y: int, request: Request, conn: ConnDep, settings: SettingsDep
) -> Response:
    """Return the MVT of one tile; 204 when empty or below the layer's minimum zoom, 400 for bad coordinates."""
    return await _tile(layer(layer_name), z, x, y, request, conn, settings, "public")


@router.get(
    "/tiles/cases/{layer_name}/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of a layer of the cases (staff only)",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def case_tile(
    layer_name: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _staff: Annotated[Principal, permission("cases.map")],
) -> Response:
    """Return the MVT of one tile of pending applications or approved land (case numbers, kinds, states)."""
    return await _tile(case_layer(layer_name), z, x, y, request, conn, settings, "private")


async def _tile(
    spec: LayerSpec, z: int, x: int, y: int, request: Request, conn: ConnDep, settings: SettingsDep, scope: str
) -> Response:
    try:
        TileAddress(z, x, y)
    except TileRequestError as exc:
        raise BadRequest(str(exc)) from exc
    cache_control = {"Cache-Control": f"{scope}, max-age={settings.tile_max_age}"}
    if z < spec.minzoom:
        return Response(status_code=204, headers=cache_control)
    row = await (await conn.execute(version_query(), {"layer": spec.name})).fetchone()
    version = int(row[0]) if row else 0
    etag = f'"{spec.name}-{version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={**cache_control, "ETag": etag})
    cache: TileCache = request.app.state.tile_cache
    data = cache.get((spec.name, version, z, x, y))
    if data is None:
        cur = await conn.execute(
            tile_query(spec, z),
            {"z": z, "x": x, "y": y, "limit": settings.tile_feature_limit},
            binary=True,
            prepare=False,
        )
        row = await cur.fetchone()
        version, data = (int(row[0] or 0), bytes(row[1] or b"")) if row else (0, b"")
        cache.put((spec.name, version, z, x, y), data)
        etag = f'"{spec.name}-{version}"'
    headers = {**cache_control, "ETag": etag}
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get("/tiles/{layer_name}.json", summary="TileJSON 3.0 of a layer")
async def tilejson(layer_name: str, request: Request, conn: ConnDep) -> JSONResponse:
    """Return the TileJSON of a layer with its bounds, centre and zoom range."""
    return await _tilejson(layer(layer_name), request, conn, "/tiles")


@router.get("/tiles/cases/{layer_name}.json", summary="TileJSON 3.0 of a layer of the cases (staff only)")
async def case_tilejson(
    layer_name: str, request: Request, conn: ConnDep, _staff: Annotated[Principal, permission("cases.map")]
) -> JSONResponse:
    """Return the TileJSON of pending applications or approved land."""
    return await _tilejson(case_layer(layer_name), request, conn, "/tiles/cases")


async def _tilejson(spec: LayerSpec, request: Request, conn: ConnDep, prefix: str) -> JSONResponse:
    cur = await conn.execute(extent_query(spec))
    row = await cur.fetchone()
    if row and row[0] is not None:
        bounds = [float(row[0]), float(row[1]), float(row[2]), float(row[3])]
    else:
        bounds = [-180.0, -85.0511, 180.0, 85.0511]
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(spec.minzoom, 12)]
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": spec.name,
            "description": f"{spec.title} / {spec.title_en}",
            "version": str(row[4] or 0) if row else "0",
            "scheme": "xyz",
            "tiles": [f"{base}{prefix}/{spec.name}/{{z}}/{{x}}/{{y}}.pbf"],
            "minzoom": spec.minzoom,
            "maxzoom": MAX_ZOOM,
            "bounds": bounds,
            "center": center,
            "vector_layers": [{"id": spec.name, "fields": {c.name: c.type for c in spec.columns if not c.private}}],
        }
    )
