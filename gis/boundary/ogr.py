"""GeoJSON, zipped Shapefile, GeoPackage, KML and polygons drawn on the map, as boundaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from gis.boundary.geometry import finish
from gis.boundary.model import Boundary, BoundaryError, BoundaryIssue, BoundaryParcel, CountyExtent, error, warning
from gis.catalog import STORAGE_SRID
from gis.crs import zone_of_epsg
from gis.vector import VectorFileError, read_vector

NO_FIELDS = ("parcel_no", "dkbh", "地块编号", "zddm", "宗地代码", "bh", "id")
NAME_FIELDS = ("name", "dkmc", "地块名称", "mc", "名称")
CODE_FIELDS = ("dlbm", "地类编码", "landuse_code")


def _guess_crs(geoms: list[Any]) -> int | None:
    xs = shapely.get_coordinates(geoms)
    if not len(xs):
        return None
    x, y = float(xs[:, 0].mean()), float(xs[:, 1].mean())
    if -180 <= x <= 180 and -90 <= y <= 90:
        return STORAGE_SRID
    if 25_000_000 < x < 46_000_000 and 1_000_000 < y < 7_000_000:
        return 4488 + int(x // 1_000_000)
    return None


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lower = {str(k).lower(): v for k, v in row.items()}
    for n in names:
        v = lower.get(n)
        if v is not None and str(v).strip() and str(v) != "nan":
            return str(v).strip()
    return None


def from_frame(gdf: gpd.GeoDataFrame, fmt: str, extent: CountyExtent | None = None, crs: int | None = None) -> Boundary:
    """Turn a GeoDataFrame of polygons into a boundary; invalid geometry is refused, never silently repaired."""
    issues: list[BoundaryIssue] = []
    if len(gdf) == 0:
        raise BoundaryError([error("no_parcels", "文件中没有要素", "the file holds no features")])
    geoms = list(shapely.force_2d(gdf.geometry.values))
    epsg = crs or (gdf.crs.to_epsg() if gdf.crs is not None else None)
    if epsg is None:
        epsg = _guess_crs(geoms)
        if epsg is None:
            raise BoundaryError([error("no_crs", "文件没有坐标系且无法从坐标判断", "the file states no CRS and the coordinates do not tell")])
        issues.append(warning("crs_guessed", f"文件未声明坐标系，按坐标判断为 EPSG:{epsg}", f"no CRS in the file; EPSG:{epsg} inferred from the coordinates"))
    elif epsg != STORAGE_SRID and zone_of_epsg(epsg) is None and epsg not in (4326,):
        issues.append(warning("foreign_crs", f"坐标系 EPSG:{epsg} 非CGCS2000，已转换", f"EPSG:{epsg} is not CGCS2000; converted"))
    parcels: list[BoundaryParcel] = []
    errors: list[BoundaryIssue] = []
    rows = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    for i, (geom, row) in enumerate(zip(geoms, rows, strict=True)):
        label = _pick(row, NO_FIELDS) or str(i + 1)
        if geom is None or geom.is_empty:
            errors.append(error("empty_geometry", f"第{i + 1}个要素没有几何", f"feature {i + 1} has no geometry", field=f"feature {i + 1}", parcel_no=label))
            continue
        if not isinstance(geom, Polygon | MultiPolygon):
            errors.append(error("not_polygon", f"第{i + 1}个要素不是面（{geom.geom_type}）", f"feature {i + 1} is not a polygon ({geom.geom_type})",
                                field=f"feature {i + 1}", parcel_no=label))  # fmt: skip
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            errors.append(error("self_intersection" if "Self-intersection" in reason else "invalid_geometry",
                                f"第{i + 1}个要素几何无效：{reason}", f"feature {i + 1} is invalid: {reason}", field=f"feature {i + 1}", parcel_no=label))  # fmt: skip
            continue
        if geom.area == 0:
            errors.append(error("sliver", f"第{i + 1}个要素面积为零", f"feature {i + 1} has no area", field=f"feature {i + 1}", parcel_no=label))
            continue
        multi = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
        parcel, finish_issues = finish(multi, epsg, label, _pick(row, NAME_FIELDS) or "", extent=extent,
                                       landuse_code=_pick(row, CODE_FIELDS),
                                       attributes={k: (v if isinstance(v, str | int | float | bool) or v is None else str(v)) for k, v in row.items()})  # fmt: skip
        errors += finish_issues
        if parcel is not None:
            parcels.append(parcel)
    if errors:
        raise BoundaryError([*issues, *errors])
    return Boundary(parcels, fmt, f"EPSG:{epsg}", parcels[0].zone, {}, issues)


def read_vector_boundary(path: Path, fmt: str, extent: CountyExtent | None = None) -> Boundary:
    """Read a GeoJSON, (zipped) Shapefile, GeoPackage or KML file as a boundary."""
    try:
        gdf = read_vector(path)
    except VectorFileError as exc:
        raise BoundaryError([error("unreadable", str(exc), str(exc))]) from exc
    return from_frame(gdf, fmt, extent)


def read_drawn(geojson: dict[str, Any] | str, extent: CountyExtent | None = None) -> Boundary:
    """Read a polygon drawn on the map: a GeoJSON geometry, Feature or FeatureCollection in lon/lat."""
    try:
        obj = json.loads(geojson) if isinstance(geojson, str) else geojson
    except json.JSONDecodeError as exc:
        raise BoundaryError([error("bad_json", f"GeoJSON 无法解析：{exc}", f"the GeoJSON does not parse: {exc}")]) from exc
    if not isinstance(obj, dict) or "type" not in obj:
        raise BoundaryError([error("bad_geojson", "不是GeoJSON对象", "not a GeoJSON object")])
    if obj["type"] == "FeatureCollection":
        features = obj.get("features") or []
    elif obj["type"] == "Feature":
        features = [obj]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": obj}]
    geoms, props = [], []
    for i, f in enumerate(features):
        try:
            geoms.append(shape(f.get("geometry")) if f.get("geometry") else None)
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
            raise BoundaryError([error("bad_geojson", f"第{i + 1}个要素几何格式错误：{exc}", f"feature {i + 1} has a malformed geometry: {exc}",
                                       field=f"feature {i + 1}")]) from exc  # fmt: skip
        props.append(f.get("properties") or {})
    gdf = gpd.GeoDataFrame(props, geometry=geoms, crs=STORAGE_SRID) if geoms else gpd.GeoDataFrame(geometry=[], crs=STORAGE_SRID)
    return from_frame(gdf, "drawn", extent, crs=STORAGE_SRID)


def to_geojson(boundary: Boundary) -> dict[str, Any]:
    """Return the boundary as a FeatureCollection in EPSG:4490 lon/lat with the computed areas."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(p.geometry),
                "properties": {
                    "parcel_no": p.parcel_no, "name": p.name, "area_m2": round(p.area_m2, 3), "area_mu": round(p.area_mu, 4),
                    "area_ha": round(p.area_ha, 4), "declared_area_ha": p.declared_area_ha, "zone": p.zone,
                    "source_crs": boundary.source_crs, "landuse_code": p.landuse_code,
                    "depth_top": p.depth_top, "depth_bottom": p.depth_bottom,
                    "warnings": [str(w) for w in [*boundary.warnings, *p.warnings]],
                },
            }
            for p in boundary.parcels
        ],
    }  # fmt: skip
