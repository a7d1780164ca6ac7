"""A stored boundary (EPSG:4490) written out in every format applicants and survey software use."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon

from gis.boundary.geometry import finish
from gis.boundary.mining import write_mining
from gis.boundary.model import Boundary, BoundaryError, CountyExtent
from gis.boundary.ogr import to_geojson
from gis.boundary.txt import write_txt
from gis.catalog import STORAGE_SRID

EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    # format: (media type, file suffix)
    "txt": ("text/plain; charset=gb18030", "txt"),
    "mining": ("text/plain; charset=utf-8", "txt"),
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
}


def stored_boundary(
    geometry: MultiPolygon,
    parcel_no: str,
    name: str,
    depth_top: float | None = None,
    depth_bottom: float | None = None,
    extent: CountyExtent | None = None,
) -> Boundary:
    """Return a stored lon/lat MultiPolygon as a one-parcel boundary with its GK geometry and areas."""
    parcel, issues = finish(
        geometry, STORAGE_SRID, parcel_no, name, extent=extent, depth_top=depth_top, depth_bottom=depth_bottom
    )
    if parcel is None:
        raise BoundaryError(issues)
    return Boundary([parcel], "stored", f"EPSG:{STORAGE_SRID}", parcel.zone)


def _frame(boundary: Boundary, properties: dict[str, Any]) -> gpd.GeoDataFrame:
    rows = [
        {
            "parcel_no": p.parcel_no,
            "name": p.name,
            "area_m2": round(p.area_m2, 3),
            "area_mu": round(p.area_mu, 4),
            "zone": p.zone,
            **properties,
        }
        for p in boundary.parcels
    ]
    return gpd.GeoDataFrame(rows, geometry=[p.geometry for p in boundary.parcels], crs=STORAGE_SRID)


def _write_ogr(boundary: Boundary, driver: str, suffix: str, layer: str, properties: dict[str, Any]) -> bytes:
    gdf = _frame(boundary, properties)
    if driver == "KML":
        gdf = gdf.set_crs(4326, allow_override=True)  # KML is WGS 84 by definition; CGCS2000 agrees to centimetres
    with tempfile.TemporaryDirectory(prefix="landwindow-export-") as tmp:
        path = Path(tmp) / f"boundary.{suffix}"
        gdf.to_file(path, driver=driver, layer=layer, engine="pyogrio")
        return path.read_bytes()


def export_boundary(
    boundary: Boundary, fmt: str, layer: str = "boundary", properties: dict[str, Any] | None = None
) -> bytes:
    """Return the boundary's file in `fmt` (txt, mining, geojson, gpkg or kml) as bytes."""
    props = properties or {}
    if fmt == "txt":
        return write_txt(boundary)
    if fmt == "mining":
        return (write_mining(boundary) + "\n").encode("utf-8")
    if fmt == "geojson":
        fc = to_geojson(boundary)
        for f in fc["features"]:
            f["properties"].update(props)
        return json.dumps(fc, ensure_ascii=False).encode("utf-8")
    if fmt == "gpkg":
        return _write_ogr(boundary, "GPKG", "gpkg", layer, props)
    if fmt == "kml":
        return _write_ogr(boundary, "KML", "kml", layer, props)
    raise ValueError(f"未知导出格式 / unknown export format {fmt!r}: {', '.join(EXPORT_FORMATS)}")


def ring_counts(geometry: MultiPolygon) -> tuple[int, int, int]:
    """Return (parts, holes, distinct vertices) of a MultiPolygon, closing points not counted."""
    parts = len(geometry.geoms)
    holes = sum(len(p.interiors) for p in geometry.geoms)
    rings = parts + holes
    return parts, holes, int(shapely.get_num_coordinates(geometry)) - rings


def numbered_rings(geometry: MultiPolygon) -> list[list[tuple[float, float]]]:
    """Return the rings of a projected MultiPolygon as survey plans number them: clockwise from the north-west corner."""
    out = []
    for poly in shapely.get_parts(shapely.orient_polygons(geometry, exterior_cw=True)):
        for ring in (poly.exterior, *poly.interiors):
            pts = [(float(x), float(y)) for x, y in list(ring.coords)[:-1]]
            minx = min(x for x, _ in pts)
            maxy = max(y for _, y in pts)
            start = min(range(len(pts)), key=lambda i: (pts[i][0] - minx) + (maxy - pts[i][1]))
            out.append(pts[start:] + pts[:start])
    return out
