"""A case's boundary: uploads and drawn polygons parsed by gis.boundary into one geometry, and set on a case with
its check in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from psycopg import AsyncConnection
from shapely.geometry import MultiPolygon
from sqlalchemy.orm import Session

from gis.boundary import Boundary, BoundaryError, CountyExtent
from gis.boundary.bounded import read_boundary_bytes_bounded, read_drawn_bounded
from gis.catalog import STORAGE_SRID, layer
from gis.check import boundary_geometry
from gis.crs import planar_area_m2
from gis.tiles import extent_query
from service.access import permissions
from service.access.auth import Principal
from service.cases import onemap
from service.cases.checking import run_case_check
from service.cases.places import fill_places, places_of
from service.cases.records import bump, locked_case, require_editable
from service.core.audit import audit
from service.core.errors import DomainError, InvalidInput, TooLarge, Unavailable
from service.core.models import Case, CheckRun
from service.core.profile import ExtentUnknown, extent_in_force
from service.core.settings import Settings, session_settings


@dataclass
class BoundaryInput:
    """A case boundary in EPSG:4490 with where it came from (format, file, warnings)."""

    geometry: MultiPolygon
    source: dict[str, Any] = field(default_factory=dict)


def _extent(settings: Settings, box: tuple[Any, ...] | None) -> CountyExtent:
    try:
        return extent_in_force(settings.profile, box)
    except ExtentUnknown as exc:
        raise InvalidInput(str(exc)) from exc


def county_extent(session: Session) -> CountyExtent:
    """Return the extent applications must lie in: the profile's box, or the loaded townships' (profile [extent])."""
    settings = session_settings(session)
    box = None
    if settings.profile.extent.source == "townships":
        statement = extent_query(layer("townships")).as_string()
        box = tuple(session.connection().exec_driver_sql(statement).one())[:4]
    return _extent(settings, box)


async def county_extent_async(settings: Settings, conn: AsyncConnection) -> CountyExtent:
    """Return the extent in force as county_extent does, over an async connection (the hot-path routes)."""
    box = None
    if settings.profile.extent.source == "townships":
        cur = await conn.execute(extent_query(layer("townships")))
        row = await cur.fetchone()
        box = tuple(row)[:4] if row else None
    return _extent(settings, box)


def _input(boundary: Boundary, filename: str | None) -> BoundaryInput:
    source = {
        "format": boundary.source_format,
        "filename": filename,
        "source_crs": boundary.source_crs,
        "zone": boundary.zone,
        "parcels": [
            {"parcel_no": p.parcel_no, "name": p.name, "area_m2": p.area_m2, "declared_area_ha": p.declared_area_ha}
            for p in boundary.parcels
        ],
        "warnings": [str(w) for w in boundary.warnings] + [str(w) for p in boundary.parcels for w in p.warnings],
    }
    return BoundaryInput(boundary_geometry([p.geometry for p in boundary.parcels]), source)


PARSER_UNAVAILABLE = ("parse_busy", "parse_unavailable")
"""Refusals that are the server's state, not the file's: answered 503 (try again), not 422."""


def _invalid(exc: BoundaryError, filename: str) -> DomainError:
    if any(i.code in PARSER_UNAVAILABLE for i in exc.issues):
        first = exc.issues[0]
        return Unavailable(f"{filename}: {first.message_zh} / {first.message_en}", code=first.code)
    return InvalidInput(
        f"{filename}: 用地范围文件有误 / the boundary file has errors: " + "; ".join(str(i) for i in exc.issues[:20]),
        issues=[
            {"code": i.code, "line": i.line, "field": i.field, "message_zh": i.message_zh, "message_en": i.message_en}
            for i in exc.issues
        ],
    )


def boundary_from_upload(data: bytes, filename: str, max_bytes: int, extent: CountyExtent) -> BoundaryInput:
    """Parse an uploaded boundary file, refusing oversized uploads (an empty one is the parser's `empty_file`).

    The file is read in a parser process killed after parse_seconds (gis/data/limits.toml: `parse_timeout`), behind
    the readers' own limits (zip expansion, points, rings, nesting). Blocking for as long: an async route runs it in
    the thread pool, never on the event loop.
    """
    if len(data) > max_bytes:
        raise TooLarge(
            f"{filename}: 文件超过 {max_bytes / 1_048_576:g} MiB 的上限（LANDWINDOW_MAX_UPLOAD_BYTES）/ the file is "
            f"larger than the limit of {max_bytes / 1_048_576:g} MiB (LANDWINDOW_MAX_UPLOAD_BYTES)",
            limit_bytes=max_bytes,
            setting="LANDWINDOW_MAX_UPLOAD_BYTES",
        )
    try:
        return _input(read_boundary_bytes_bounded(data, filename, extent=extent), filename)
    except BoundaryError as exc:
        raise _invalid(exc, filename) from exc


def boundary_from_geojson(geojson: dict[str, Any] | str, extent: CountyExtent) -> BoundaryInput:
    """Parse a polygon drawn on the map (GeoJSON, lon/lat; as an object or as the text of a form field), in a parser
    process bounded in time like an upload; nesting deeper than json_depth is refused before anything recurses."""
    try:
        return _input(read_drawn_bounded(geojson, extent=extent), None)
    except BoundaryError as exc:
        raise _invalid(exc, "drawn") from exc


def apply_boundary(session: Session, actor: str, case: Case, boundary: BoundaryInput) -> CheckRun:
    """Put a boundary on a case (area, source) and run its check in the same transaction; the open cases the
    boundary touches, before or after, are checked again (they may now meet it on the layers of the cases); `actor`
    as audited."""
    geom = boundary.geometry
    if geom.is_empty or not geom.is_valid:
        raise InvalidInput("用地范围无效 / the boundary is empty or invalid")
    old = to_shape(case.geom) if case.geom is not None else None
    before = {
        "area_m2": case.area_m2,
        "boundary_source": case.boundary_source,
        "township": case.township,
        "village": case.village,
    }
    case.geom = from_shape(geom, srid=STORAGE_SRID)
    case.area_m2 = planar_area_m2(geom)
    case.boundary_source = {
        **boundary.source,
        "places_from_map": (case.boundary_source or {}).get("places_from_map", []),
    }
    fill_places(case, places_of(session, geom))
    session.flush()
    after = {
        "area_m2": case.area_m2,
        "boundary_source": case.boundary_source,
        "township": case.township,
        "village": case.village,
    }
    audit(session, actor, "case.boundary", case.id, before, after)
    run = run_case_check(session, case, actor)
    onemap.follow_change(session, case, actor, "case.boundary", old, pending_only=case.on_map == "pending")
    return run


def set_boundary(session: Session, actor: Principal, case_id: int, version: int, boundary: BoundaryInput) -> CheckRun:
    """Set or change a case's boundary; its check runs in the same transaction."""
    permissions.require(actor, "case.boundary")
    case = locked_case(session, case_id, version)
    require_editable(case, "用地范围", "the boundary")
    run = apply_boundary(session, actor.actor, case, boundary)
    bump(case)
    return run
