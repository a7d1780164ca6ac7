"""Vector tiles and TileJSON for every catalog layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from gis.catalog import LayerSpec, case_layer, case_layers, catalog, layer
from gis.tiles import MAX_ZOOM, TileAddress, TileRequestError, extent_query, layers_tile_sql, versions_query
from service.access.auth import Principal
from service.core.errors import BadRequest
from service.core.settings import Settings
from service.http.deps import ReadsDep, SettingsDep, permission
from service.http.tilecache import TileCache

router = APIRouter(tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


LayersQuery = Annotated[
    str | None,
    Query(
        max_length=1000,
        pattern=r"^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$",
        description="the layers, comma-separated (their MVTs in this order; those below their minimum zoom left out); "
        "every layer of the catalog when not given",
    ),
]


@router.get(
    "/tiles/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of several layers at once",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def layers_tile(
    z: int, x: int, y: int, request: Request, reads: ReadsDep, settings: SettingsDep, layers: LayersQuery = None
) -> Response:
    """Return one MVT holding the tile of each layer asked for: the map fetches a tile once for all its layers.

    The ETag names each layer's version; 204 when every layer is empty here or below its minimum zoom.
    """
    specs = [layer(name) for name in dict.fromkeys(layers.split(","))] if layers else list(catalog().values())
    return await _tile_response(specs, z, x, y, request, reads, settings)


@router.get(
    "/tiles/cases/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of several layers of the cases at once (staff only)",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def case_layers_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    reads: ReadsDep,
    settings: SettingsDep,
    staff: Annotated[Principal, permission("cases.map")],
    layers: LayersQuery = None,
) -> Response:
    """Return one MVT holding the tile of each layer of the cases asked for (every one when not given); staff of one
    county see its cases alone."""
    names = dict.fromkeys(layers.split(",")) if layers else case_layers()
    specs = [case_layer(name) for name in names]
    return await _tile_response(specs, z, x, y, request, reads, settings, "private", staff.county)


@router.get(
    "/tiles/{layer_name}/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of a layer",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def tile(
    layer_name: str, z: int, x: int, y: int, request: Request, reads: ReadsDep, settings: SettingsDep
) -> Response:
    """Return the MVT of one tile; 204 when empty or below the layer's minimum zoom, 400 for bad coordinates."""
    return await _tile_response([layer(layer_name)], z, x, y, request, reads, settings)


@router.get(
    "/tiles/cases/{layer_name}/{z}/{x}/{y}.pbf",
    summary="Mapbox vector tile of a layer of the cases (staff only; staff of one county see its cases alone)",
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def case_tile(
    layer_name: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    reads: ReadsDep,
    settings: SettingsDep,
    staff: Annotated[Principal, permission("cases.map")],
) -> Response:
    """Return the MVT of one tile of pending applications or approved land (case numbers, kinds, states)."""
    spec = case_layer(layer_name)
    return await _tile_response([spec], z, x, y, request, reads, settings, "private", staff.county)


async def _tile_response(
    specs: list[LayerSpec],
    z: int,
    x: int,
    y: int,
    request: Request,
    reads: ReadsDep,
    settings: Settings,
    scope: str = "public",
    county: str | None = None,
) -> Response:
    """Answer a tile of some layers: from the tile cache where it holds them, the rest in one statement.

    With `county`, only that county's features are drawn (the layers of the cases for staff of one county); they are
    cached apart from every other county's.
    """
    try:
        address = TileAddress(z, x, y)
    except TileRequestError as exc:
        raise BadRequest(str(exc)) from exc
    cache_control = {"Cache-Control": f"{scope}, max-age={settings.tile_max_age}"}
    specs = [s for s in specs if z >= s.minzoom]
    if not specs:
        return Response(status_code=204, headers=cache_control)
    names = [s.name for s in specs]
    cache: TileCache = request.app.state.tile_cache
    # the cache and the ETag tell one county's tile of a layer from another's and from the tile of all counties
    key = {name: name if county is None else f"{name}@{county}" for name in names}
    if_none_match = request.headers.get("if-none-match")
    params = address.params(settings.tile_feature_limit) | ({} if county is None else {"county": county})

    async def render(conn: AsyncConnection) -> tuple[dict[str, int], list[bytes] | None]:
        # The layers' versions come with their tiles in one statement: a layer this worker holds the tile of (at
        # the version it last saw) is only checked, the others are rendered. A second round renders what the
        # first found re-imported since.
        guess: dict[str, int | None] = {name: cache.newest(key[name]) for name in names}
        if if_none_match is not None:  # the client may hold the tile: learn the versions before rendering
            cur = await conn.execute(versions_query(), {"layers": names})
            current = {name: 0 for name in names} | {str(r[0]): int(r[1]) for r in await cur.fetchall()}
            if if_none_match == _etag(current, key):
                return current, None
            guess = dict(current)
        versions: dict[str, int] = {}
        parts: dict[str, bytes] = {}
        for first_round in (True, False):
            held = {}
            if first_round:
                for name, version in guess.items():
                    data = cache.get((key[name], version, z, x, y)) if version is not None else None
                    if data is not None:
                        held[name] = data
            todo = {s.name for s in specs if s.name not in parts and s.name not in held}
            statement = layers_tile_sql(names, z, todo, county is not None)
            cur = await conn.execute(statement, params, binary=True, prepare=True)
            row = await cur.fetchone()
            assert row is not None
            for i, name in enumerate(names):
                versions[name] = int(row[2 * i] or 0)
                if name in todo:
                    parts[name] = bytes(row[2 * i + 1] or b"")
                    cache.put((key[name], versions[name], z, x, y), parts[name])
                elif name in held and versions[name] == guess[name]:
                    parts[name] = held[name]
            if len(parts) == len(names):
                break
        return versions, [parts[name] for name in names]

    versions, parts = await reads.run(render)
    headers = {**cache_control, "ETag": _etag(versions, key)}
    if parts is None:
        return Response(status_code=304, headers=headers)
    data = b"".join(parts)  # an MVT is a sequence of layers: one layer's tile after another's is the tile of both
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers)


def _etag(versions: dict[str, int], key: dict[str, str]) -> str:
    return '"' + ".".join(f"{key[name]}-{version}" for name, version in versions.items()) + '"'


@router.get("/tiles/{layer_name}.json", summary="TileJSON 3.0 of a layer")
async def tilejson(layer_name: str, request: Request, reads: ReadsDep) -> JSONResponse:
    """Return the TileJSON of a layer with its bounds, centre and zoom range."""
    return await _tilejson(layer(layer_name), request, reads, "/tiles")


@router.get("/tiles/cases/{layer_name}.json", summary="TileJSON 3.0 of a layer of the cases (staff only)")
async def case_tilejson(
    layer_name: str, request: Request, reads: ReadsDep, staff: Annotated[Principal, permission("cases.map")]
) -> JSONResponse:
    """Return the TileJSON of pending applications or approved land (of the staff's county, when they have one)."""
    return await _tilejson(case_layer(layer_name), request, reads, "/tiles/cases", staff.county)


async def _tilejson(
    spec: LayerSpec, request: Request, reads: ReadsDep, prefix: str, county: str | None = None
) -> JSONResponse:
    async def extent(conn: AsyncConnection) -> tuple[Any, ...] | None:
        params = None if county is None else {"county": county}
        return await (await conn.execute(extent_query(spec, county is not None), params)).fetchone()

    row = await reads.run(extent)
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
