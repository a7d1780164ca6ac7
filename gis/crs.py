"""CGCS2000 coordinate systems: 3° Gauss-Krüger zones, EPSG codes, transformers and planar areas."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry.base import BaseGeometry

from gis.catalog import STORAGE_SRID

CGCS2000_GEOGRAPHIC = 4490


class CRSError(ValueError):
    """A coordinate system or zone is not supported or does not fit the coordinates."""


def zone_3deg(lon: float) -> int:
    """Return the 3° Gauss-Krüger zone number of a longitude (zone 38 has central meridian 114°E)."""
    return math.floor((lon + 1.5) / 3)


def central_meridian_3deg(zone: int) -> int:
    """Return the central meridian of a 3° zone in degrees."""
    return 3 * zone


def epsg_3deg(zone: int, prefixed: bool = True) -> int:
    """Return the EPSG code of a CGCS2000 3° GK zone; `prefixed` means the easting carries the zone number."""
    if not 25 <= zone <= 45:
        raise CRSError(f"3度带带号 {zone} 超出CGCS2000范围(25–45) / 3° zone {zone} outside CGCS2000 zones 25–45")
    return (4488 if prefixed else 4509) + zone


def epsg_6deg(zone: int, prefixed: bool = True) -> int:
    """Return the EPSG code of a CGCS2000 6° GK zone."""
    if not 13 <= zone <= 23:
        raise CRSError(f"6度带带号 {zone} 超出CGCS2000范围(13–23) / 6° zone {zone} outside CGCS2000 zones 13–23")
    return (4478 if prefixed else 4489) + zone


def zone_of_epsg(epsg: int) -> tuple[int, int, bool] | None:
    """Return (zone width 3 or 6, zone number, prefixed) for a CGCS2000 GK EPSG code, else None."""
    if 4513 <= epsg <= 4533:
        return 3, epsg - 4488, True
    if 4534 <= epsg <= 4554:
        return 3, epsg - 4509, False
    if 4491 <= epsg <= 4501:
        return 6, epsg - 4478, True
    if 4502 <= epsg <= 4512:
        return 6, epsg - 4489, False
    return None


@cache
def transformer(src: int | str, dst: int | str) -> Transformer:
    """Return a cached lon/lat-ordered transformer between two CRSs (EPSG codes or PROJ strings)."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def reproject(geom: BaseGeometry, src: int | str, dst: int | str) -> BaseGeometry:
    """Reproject a shapely geometry between CRSs (x = easting/longitude)."""
    if src == dst:
        return geom
    t = transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def gk_zone_for(geom_lonlat: BaseGeometry) -> int:
    """Return the 3° zone of a lon/lat geometry's centroid."""
    return zone_3deg(geom_lonlat.centroid.x)


def to_gk(geom_lonlat: BaseGeometry, zone: int | None = None) -> tuple[BaseGeometry, int]:
    """Project a storage (lon/lat) geometry to its 3° GK zone with the zone prefix; return it with the zone."""
    z = zone if zone is not None else gk_zone_for(geom_lonlat)
    return reproject(geom_lonlat, STORAGE_SRID, epsg_3deg(z, prefixed=True)), z


def planar_area_m2(geom_lonlat: BaseGeometry, zone: int | None = None) -> float:
    """Return the planar area in m² in the geometry's 3° GK zone, as survey reports state it."""
    g, _ = to_gk(geom_lonlat, zone)
    return float(g.area)


@cache
def _geod() -> Geod:
    geod = CRS.from_epsg(CGCS2000_GEOGRAPHIC).get_geod()
    assert geod is not None
    return geod


def ellipsoidal_area_m2(geom_lonlat: BaseGeometry) -> float:
    """Return the area on the CGCS2000 ellipsoid in m² (how mining areas are reported), holes subtracted."""
    # pyproj adds the signed area of every ring: only with shells counter-clockwise and holes clockwise does a hole
    # subtract and do the parts of a MultiPolygon add up (survey files write their rings in either direction)
    area, _ = _geod().geometry_area_perimeter(shapely.orient_polygons(geom_lonlat, exterior_cw=False))
    return abs(float(area))


SQM_PER_MU = 10000 / 15
"""1 亩 = 666.667 m²."""


def m2_to_mu(m2: float) -> float:
    """Convert square metres to 亩 (mu)."""
    return m2 / SQM_PER_MU


def m2_to_ha(m2: float) -> float:
    """Convert square metres to hectares."""
    return m2 / 10000
