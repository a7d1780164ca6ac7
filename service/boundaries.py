"""Boundaries for cases and checks: uploads and drawn polygons parsed by gis.boundary into one geometry."""

from __future__ import annotations

from typing import Any

from gis.boundary import Boundary, BoundaryError, read_boundary_bytes, read_drawn
from gis.check import boundary_geometry
from service.cases import BoundaryInput
from service.errors import InvalidInput


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


def _invalid(exc: BoundaryError, filename: str) -> InvalidInput:
    return InvalidInput(
        f"{filename}: 用地范围文件有误 / the boundary file has errors: " + "; ".join(str(i) for i in exc.issues[:20]),
        issues=[
            {"code": i.code, "line": i.line, "field": i.field, "message_zh": i.message_zh, "message_en": i.message_en}
            for i in exc.issues
        ],
    )


def boundary_from_upload(data: bytes, filename: str, max_bytes: int) -> BoundaryInput:
    """Parse an uploaded boundary file, refusing oversized uploads (an empty one is the parser's `empty_file`)."""
    if len(data) > max_bytes:
        raise InvalidInput(f"{filename}: 文件超过 {max_bytes // 1024 // 1024} MB / the file is larger than allowed")
    try:
        return _input(read_boundary_bytes(data, filename), filename)
    except BoundaryError as exc:
        raise _invalid(exc, filename) from exc


def boundary_from_geojson(geojson: dict[str, Any]) -> BoundaryInput:
    """Parse a polygon drawn on the map (GeoJSON, lon/lat)."""
    try:
        return _input(read_drawn(geojson), None)
    except BoundaryError as exc:
        raise _invalid(exc, "drawn") from exc
