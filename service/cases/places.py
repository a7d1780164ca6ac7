"""Where a boundary lies: the township and village the one map puts it in, filled in on a case when the clerk left
them empty, and a warning when the entered ones differ."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.catalog import STORAGE_SRID, catalog
from gis.crs import epsg_3deg, transformer
from service.core.errors import InvalidInput, NotFound

# Each place is read from the first layer (of those loaded) under the boundary, by the largest overlap: the village
# from the village construction land and, for land outside it (a requisition of farmland), from the parcels' and the
# land-use patches' own village column.
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "township": (("townships", "name"), ("village_boundary", "township"), ("parcels", "township")),
    "village": (("village_boundary", "village"), ("parcels", "village"), ("landuse", "village")),
}


@dataclass(frozen=True)
class Places:
    """The township and village the map puts a boundary in (None where no layer says)."""

    township: str | None
    village: str | None


def _largest(session: Session, table: str, column: str, wkb: bytes) -> str | None:
    # table and column come from the catalog (SOURCES), never from a request
    sql = text(
        f"SELECT {column} FROM {table} t, (SELECT ST_GeomFromWKB(:wkb, {STORAGE_SRID}) AS g) b "
        f"WHERE t.geom && b.g AND ST_Intersects(t.geom, b.g) AND coalesce({column}, '') <> '' "
        "ORDER BY ST_Area(ST_Intersection(t.geom, b.g)) DESC LIMIT 1"
    )
    return session.execute(sql, {"wkb": wkb}).scalar()


def places_of(session: Session, geometry: BaseGeometry) -> Places:
    """Return the township and village of the boundary, each from the first layer that names one under it."""
    layers = catalog()
    found: dict[str, str | None] = {}
    wkb = geometry.wkb
    for place, sources in SOURCES.items():
        found[place] = None
        for layer, column in sources:
            if layer not in layers or column not in layers[layer].column_names:
                continue
            value = _largest(session, layers[layer].table.name, column, wkb)
            if value:
                found[place] = value
                break
    return Places(found["township"], found["village"])


def fill_places(case: Any, places: Places) -> list[str]:
    """Fill the case's empty township and village from the map (and those filled from an earlier boundary); record
    the map's places in the boundary source. Return the fields filled."""
    source = dict(case.boundary_source or {})
    earlier = set(source.get("places_from_map", []))
    filled = []
    for field in ("township", "village"):
        mapped = getattr(places, field)
        if mapped and (not getattr(case, field) or field in earlier):
            setattr(case, field, mapped)
            filled.append(field)
    source["map_places"] = {"township": places.township, "village": places.village}
    source["places_from_map"] = filled
    case.boundary_source = source
    return filled


def place_warnings(case: Any) -> list[dict[str, str]]:
    """Return the entered places that differ from the map's, each as {field, entered, map, message}."""
    source = case.boundary_source or {}
    mapped = source.get("map_places") or {}
    out = []
    for field, zh, en in (("township", "乡镇", "township"), ("village", "村", "village")):
        entered, on_map = getattr(case, field), mapped.get(field)
        if entered and on_map and entered.strip() != on_map:
            out.append(
                {
                    "field": field,
                    "entered": entered,
                    "map": on_map,
                    "message": f"填写的{zh}“{entered}”与一张图不符：用地范围位于“{on_map}” / the entered {en} "
                    f"{entered!r} differs from the map, which puts the boundary in {on_map!r}",
                }
            )
    return out


@dataclass(frozen=True)
class FoundPlace:
    """What a typed search found on the map: what it is, its name, and its geometry (GeoJSON, lon/lat)."""

    kind: str
    label: str
    geometry: dict[str, Any]


_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,，;；\s]\s*({_NUMBER})\s*$")
# where a lon/lat pair can be (China), and the digits of a 3° Gauss-Krüger pair (northing 7 digits, easting with
# the zone prefix 8 digits)
_LON, _LAT = (73.0, 136.0), (3.0, 54.0)


def _coordinate(typed: str) -> tuple[float, float] | None:
    """Return (lon, lat) of a typed coordinate: `lon, lat`, `lat, lon`, or a GK pair `X, Y` / `Y, X` with the
    zone prefix on the easting; None when the text is not a coordinate."""
    m = _PAIR.match(unicodedata.normalize("NFKC", typed))
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    for lon, lat in ((a, b), (b, a)):
        if _LON[0] <= lon <= _LON[1] and _LAT[0] <= lat <= _LAT[1]:
            return lon, lat
    for northing, easting in ((a, b), (b, a)):
        zone = int(easting // 1_000_000)
        if 1_000_000 <= northing < 10_000_000 and 25 <= zone <= 45:
            lon, lat = transformer(epsg_3deg(zone), STORAGE_SRID).transform(easting, northing)
            return float(lon), float(lat)
    raise InvalidInput(
        f"坐标“{typed}”不在可识别的范围：请输入 经度,纬度（如 114.245,29.874）或 3度带 X,Y（如 3306153.2,38523692.5）/ "
        f"the coordinate {typed!r} is not recognised: type lon,lat (114.245,29.874) or a 3° zone X,Y "
        "(3306153.2,38523692.5)"
    )


def find_place(session: Session, typed: str) -> FoundPlace:
    """Find what a clerk typed on the map: a coordinate, a parcel number, a village or a township (exact names first,
    then a part of one). NotFound says what was looked for."""
    text_ = typed.strip()
    if not text_:
        raise InvalidInput("查找：请输入宗地代码、村名或坐标 / find: type a parcel number, a village or a coordinate")
    point = _coordinate(text_)
    if point is not None:
        lon, lat = point
        return FoundPlace("coordinate", f"{lon:.6f}, {lat:.6f}", {"type": "Point", "coordinates": [lon, lat]})
    layers = catalog()
    searches = (
        ("parcel", "parcels", "parcel_no"),
        ("village", "village_boundary", "village"),
        ("village", "parcels", "village"),
        ("township", "townships", "name"),
    )
    for exact in (True, False):
        for kind, layer, column in searches:
            if layer not in layers or column not in layers[layer].column_names:
                continue
            table = layers[layer].table.name
            cond = f"{column} = :q" if exact else f"{column} LIKE :like"
            # a village named in the parcels is all of its parcels (collected for the map, not dissolved)
            sql = text(
                f"SELECT min({column}), ST_AsGeoJSON(ST_Collect(geom), 7) FROM {table} WHERE {cond} "
                f"GROUP BY {column} ORDER BY count(*) DESC LIMIT 1"
            )
            row = session.execute(sql, {"q": text_, "like": f"%{text_}%"}).first()
            if row is not None and row[1]:
                return FoundPlace(kind, str(row[0]), json.loads(row[1]))
    raise NotFound(
        f"一张图上没有找到“{text_}”（宗地代码、村、乡镇或坐标）/ nothing on the map matches {text_!r} (parcel number, "
        "village, township or coordinate)"
    )
