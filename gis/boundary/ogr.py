"""GeoJSON, zipped Shapefile, GeoPackage, KML and polygons drawn on the map, as boundaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from gis.boundary.geometry import check_points, check_sizes, finish, too_many_parcels
from gis.boundary.model import (
    Boundary,
    BoundaryError,
    BoundaryIssue,
    BoundaryParcel,
    CountyExtent,
    error,
    validation_rules,
    warning,
)
from gis.catalog import STORAGE_SRID
from gis.crs import epsg_3deg, zone_of_epsg
from gis.limits import upload_limits
from gis.vector import VectorFileError, json_nesting, read_vector, too_deep

NO_FIELDS = ("parcel_no", "dkbh", "地块编号", "zddm", "宗地代码", "bh", "id")
NAME_FIELDS = ("name", "dkmc", "地块名称", "mc", "名称")
CODE_FIELDS = ("dlbm", "地类编码", "landuse_code")
SKIP_NON_POLYGONS_IN = frozenset(validation_rules()["skip_non_polygons_in"])


def _guess_crs(geoms: list[Any], zone: int | None) -> int | None:
    """Infer the CRS of coordinates a file states none for: lon/lat, or a GK zone from the prefix (or `zone`)."""
    xs = shapely.get_coordinates(geoms)
    if not len(xs):
        return None
    x, y = float(xs[:, 0].mean()), float(xs[:, 1].mean())
    if -180 <= x <= 180 and -90 <= y <= 90:
        return STORAGE_SRID
    if 25_000_000 < x < 46_000_000 and 1_000_000 < y < 7_000_000:
        return epsg_3deg(int(x // 1_000_000))
    if zone is not None and 100_000 < x < 900_000 and 1_000_000 < y < 7_000_000:
        return epsg_3deg(zone, prefixed=False)
    return None


OLD_DATUMS = {"Xian 1980": "1980西安坐标系", "Beijing 1954": "1954北京坐标系"}


def _source_crs(crs: pyproj.CRS) -> tuple[int | str, str]:
    """Return the CRS to reproject from (EPSG code when known) and its label."""
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is not None:
        return epsg, f"EPSG:{epsg}"
    return crs.to_wkt(), crs.name


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lower = {str(k).lower(): v for k, v in row.items()}
    for n in names:
        v = lower.get(n)
        if v is not None and str(v).strip() and str(v) != "nan":
            return str(v).strip()
    return None


def from_frame(
    gdf: gpd.GeoDataFrame, fmt: str, extent: CountyExtent | None = None, crs: int | None = None, zone: int | None = None
) -> Boundary:
    """Turn a GeoDataFrame of polygons into a boundary; invalid geometry is refused, never silently repaired."""
    if len(gdf) == 0:
        raise BoundaryError([error("no_parcels", "文件中没有要素", "the file holds no features")])
    geoms = list(shapely.force_2d(gdf.geometry.values))
    rows = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    return _from_features(geoms, rows, gdf.crs, fmt, extent, crs, zone)


def _from_features(
    geoms: list[Any],
    rows: list[dict[str, Any]],
    frame_crs: Any,
    fmt: str,
    extent: CountyExtent | None,
    crs: int | None,
    zone: int | None,
) -> Boundary:
    issues: list[BoundaryIssue] = []
    if not geoms:
        raise BoundaryError([error("no_parcels", "文件中没有要素", "the file holds no features")])
    oversized = check_sizes(geoms, [_pick(row, NO_FIELDS) or str(i + 1) for i, row in enumerate(rows)], upload_limits())
    if oversized:
        raise BoundaryError(oversized)
    src: int | str
    if crs is not None:
        src, label = crs, f"EPSG:{crs}"
    elif frame_crs is not None:
        datum = frame_crs.datum.name if frame_crs.datum is not None else ""
        old = next((zh for en, zh in OLD_DATUMS.items() if en in datum), None)
        if old is not None:
            raise BoundaryError(
                [
                    error(
                        "datum_needs_parameters",
                        f"文件坐标系为{old}（{frame_crs.name}），须先用七参数转换到2000国家大地坐标系",
                        f"the file is in {frame_crs.name}; convert it to CGCS2000 with seven parameters first",
                        field="CRS",
                    )
                ]
            )
        src, label = _source_crs(frame_crs)
        gk = zone_of_epsg(src) if isinstance(src, int) else None
        if src != STORAGE_SRID and gk is None and src != 4326:
            issues.append(
                warning("foreign_crs", f"坐标系 {label} 非CGCS2000，已转换", f"{label} is not CGCS2000; converted")
            )
        if gk is not None and zone is not None and gk[1] != zone and gk[0] == 3:
            raise BoundaryError(
                [
                    error(
                        "zone_mismatch",
                        f"指定带号 {zone} 与文件坐标系 {label}（第{gk[1]}带）不一致",
                        f"the given zone {zone} differs from the file's {label} (zone {gk[1]})",
                        field="CRS",
                    )
                ]
            )
    else:
        gk = None
        guessed = _guess_crs(geoms, zone)
        if guessed is None:
            raise BoundaryError(
                [
                    error(
                        "no_crs",
                        "文件没有坐标系且无法从坐标判断",
                        "the file states no CRS and the coordinates do not tell",
                    )
                ]
            )
        src, label = guessed, f"EPSG:{guessed}"
        issues.append(
            warning(
                "crs_guessed",
                f"文件未声明坐标系，按坐标判断为 {label}",
                f"no CRS in the file; {label} inferred from the coordinates",
            )
        )
    if crs is not None:
        gk = None
    stated = gk if gk is not None else (zone_of_epsg(src) if isinstance(src, int) else None)  # (width, zone, prefixed)
    parcels: list[BoundaryParcel] = []
    errors: list[BoundaryIssue] = []
    # a KML from Google Earth often carries a path or pins beside the parcel: take the polygons, warn about the rest
    skip_others = fmt in SKIP_NON_POLYGONS_IN and any(isinstance(g, Polygon | MultiPolygon) for g in geoms)
    for i, (geom, row) in enumerate(zip(geoms, rows, strict=True)):
        feature_no = _pick(row, NO_FIELDS) or str(i + 1)
        if geom is None or geom.is_empty:
            errors.append(
                error(
                    "empty_geometry",
                    f"第{i + 1}个要素没有几何",
                    f"feature {i + 1} has no geometry",
                    field=f"feature {i + 1}",
                    parcel_no=feature_no,
                )
            )
            continue
        if skip_others and not isinstance(geom, Polygon | MultiPolygon):
            label = _pick(row, (*NAME_FIELDS, *NO_FIELDS)) or str(i + 1)
            issues.append(
                warning(
                    "non_polygon_skipped",
                    f"第{i + 1}个要素“{label}”是{geom.geom_type}（不是面），已忽略，只取文件中的面",
                    f"feature {i + 1} ({label}) is a {geom.geom_type}, not a polygon: skipped, the file's polygons taken",
                    field=f"feature {i + 1}",
                )
            )
            continue
        if not isinstance(geom, Polygon | MultiPolygon):
            errors.append(
                error(
                    "not_polygon",
                    f"第{i + 1}个要素不是面（{geom.geom_type}）",
                    f"feature {i + 1} is not a polygon ({geom.geom_type})",
                    field=f"feature {i + 1}",
                    parcel_no=feature_no,
                )
            )
            continue
        if geom.convex_hull.area == 0:  # all points on one line: no area at all
            errors.append(
                error(
                    "sliver",
                    f"第{i + 1}个要素面积为零",
                    f"feature {i + 1} has no area",
                    field=f"feature {i + 1}",
                    parcel_no=feature_no,
                )
            )
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            errors.append(
                error(
                    "self_intersection" if "Self-intersection" in reason else "invalid_geometry",
                    f"第{i + 1}个要素几何无效：{reason}",
                    f"feature {i + 1} is invalid: {reason}",
                    field=f"feature {i + 1}",
                    parcel_no=feature_no,
                )
            )
            continue
        multi = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
        if stated is not None:
            located = check_points(
                [(float(x), float(y)) for x, y in shapely.get_coordinates(multi)],
                [None] * shapely.get_num_coordinates(multi),
                src,
                extent,
                stated[1],
                stated[0],
                feature_no,
            )
            if located:
                errors += located
                continue
        parcel, finish_issues = finish(
            multi,
            src,
            feature_no,
            _pick(row, NAME_FIELDS) or "",
            extent=extent,
            landuse_code=_pick(row, CODE_FIELDS),
            attributes={
                k: (v if isinstance(v, str | int | float | bool) or v is None else str(v)) for k, v in row.items()
            },
        )
        errors += finish_issues
        if parcel is not None:
            parcels.append(parcel)
    if errors:
        raise BoundaryError([*issues, *errors])
    return Boundary(parcels, fmt, label, parcels[0].zone, {}, issues)


def read_vector_boundary(path: Path, fmt: str, extent: CountyExtent | None = None, zone: int | None = None) -> Boundary:
    """Read a GeoJSON, (zipped) Shapefile, GeoPackage or KML file as a boundary."""
    try:
        gdf = read_vector(path)
    except VectorFileError as exc:
        zh, _, en = str(exc).partition(" / ")
        raise BoundaryError([error(exc.code, zh, en or zh)]) from exc
    return from_frame(gdf, fmt, extent, zone=zone)


def _nesting(obj: Any, limit: int) -> int:
    """Return how deeply lists and dicts nest in `obj`, looking no deeper than just past `limit` (no recursion)."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        deepest = max(deepest, depth)
        if depth > limit:
            break
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return deepest if isinstance(obj, dict | list | tuple) else 0


def read_drawn(geojson: dict[str, Any] | str, extent: CountyExtent | None = None) -> Boundary:
    """Read a polygon drawn on the map: a GeoJSON geometry, Feature or FeatureCollection in lon/lat (EPSG:4490)."""
    try:
        return _read_drawn(geojson, extent)
    except BoundaryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the browser sent, the caller gets a clean error
        raise BoundaryError([error("bad_geojson", f"GeoJSON 结构错误：{exc}", f"malformed GeoJSON: {exc}")]) from exc


def refuse_deep(geojson: dict[str, Any] | str) -> None:
    """Refuse GeoJSON nested deeper than the limit, measured before anything (parser, walk, pickle) recurses into it."""
    limit = upload_limits().json_depth
    depth = json_nesting(geojson.encode("utf-8", "replace")) if isinstance(geojson, str) else _nesting(geojson, limit)
    if depth > limit:
        exc = too_deep("GeoJSON", limit)
        zh, _, en = str(exc).partition(" / ")
        raise BoundaryError([error(exc.code, zh, en)])


def _read_drawn(geojson: dict[str, Any] | str, extent: CountyExtent | None) -> Boundary:
    limits = upload_limits()
    refuse_deep(geojson)  # a browser's polygon nests 4 to 8 deep, a hostile one 100 000
    try:
        obj = json.loads(geojson) if isinstance(geojson, str) else geojson
    except json.JSONDecodeError as exc:
        raise BoundaryError(
            [error("bad_json", f"GeoJSON 无法解析：{exc}", f"the GeoJSON does not parse: {exc}")]
        ) from exc
    if not isinstance(obj, dict) or "type" not in obj:
        raise BoundaryError([error("bad_geojson", "不是GeoJSON对象", "not a GeoJSON object")])
    if obj["type"] == "FeatureCollection":
        features = obj.get("features") or []
    elif obj["type"] == "Feature":
        features = [obj]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": obj}]
    if len(features) > limits.features:
        raise BoundaryError([too_many_parcels(limits)])
    geoms, props = [], []
    for i, f in enumerate(features):
        try:
            geoms.append(shape(f.get("geometry")) if f.get("geometry") else None)
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
            raise BoundaryError(
                [
                    error(
                        "bad_geojson",
                        f"第{i + 1}个要素几何格式错误：{exc}",
                        f"feature {i + 1} has a malformed geometry: {exc}",
                        field=f"feature {i + 1}",
                    )
                ]
            ) from exc
        props.append(f.get("properties") or {})
    # what the browser drew is already lon/lat: no data frame needed on the way (it cost a millisecond a check)
    return _from_features(
        list(shapely.force_2d(geoms)) if geoms else [], props, None, "drawn", extent, STORAGE_SRID, None
    )


def to_geojson(boundary: Boundary) -> dict[str, Any]:
    """Return the boundary as a FeatureCollection in EPSG:4490 lon/lat with the computed areas."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(p.geometry),
                "properties": {
                    "parcel_no": p.parcel_no,
                    "name": p.name,
                    "area_m2": round(p.area_m2, 3),
                    "area_mu": round(p.area_mu, 4),
                    "area_ha": round(p.area_ha, 4),
                    "area_km2": p.area_km2,
                    "declared_area_ha": p.declared_area_ha,
                    "zone": p.zone,
                    "source_crs": boundary.source_crs,
                    "landuse_code": p.landuse_code,
                    "depth_top": p.depth_top,
                    "depth_bottom": p.depth_bottom,
                    "warnings": [str(w) for w in [*boundary.warnings, *p.warnings]],
                },
            }
            for p in boundary.parcels
        ],
    }
