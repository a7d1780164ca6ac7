"""Bulk import of a layer: read with pyogrio, map attributes, repair geometries, load with binary COPY."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from gis.catalog import STORAGE_SRID, LayerSpec, layer
from gis.crs import transformer
from gis.vector import VectorFileError, list_layers, read_vector

Progress = Callable[[int, int], None]
"""Called with (features loaded so far, total features)."""

COPY_BATCH = 20000
SUBDIVIDE_VERTICES = 256
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


class LayerImportError(ValueError):
    """An import was refused; nothing was written. The message says which features or fields are wrong."""


@dataclass
class PreparedLayer:
    """Features ready to load: attribute frame in catalog column order, EWKB geometries, and what was fixed."""

    spec: LayerSpec
    source: str
    src_fid: list[str]
    columns: dict[str, list[object]]
    props: list[bytes]
    wkb: list[bytes]
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.wkb)


@dataclass
class ImportResult:
    """What a load did: the new layer version and counts."""

    layer: str
    version: int
    feature_count: int
    loaded: int
    repaired: list[tuple[str, str]]
    rejected: list[tuple[str, str]]
    mapping: dict[str, str]
    seconds: float


def _source_layer(path: Path, name: str) -> str | None:
    if path.suffix.lower() not in {".gpkg", ".sqlite"}:
        return None
    names = list_layers(path)
    if name in names:
        return name
    if len(names) == 1:
        return names[0]
    raise LayerImportError(
        f"{path.name}: 文件中有多个图层且没有名为 {name} 的图层 / the file has several layers and none is named "
        f"{name!r}: {', '.join(names)}"
    )


def _column_mapping(spec: LayerSpec, source_columns: list[str]) -> dict[str, str]:
    """Return catalog column → source column, matching names and aliases case-insensitively."""
    by_lower = {c.lower(): c for c in source_columns}
    mapping: dict[str, str] = {}
    for col in spec.columns:
        for candidate in (col.name.lower(), *col.aliases):
            if candidate in by_lower:
                mapping[col.name] = by_lower[candidate]
                break
    return mapping


def _coerce(spec: LayerSpec, frame: pd.DataFrame, mapping: dict[str, str], fids: np.ndarray) -> dict[str, list]:
    out: dict[str, list[object]] = {}
    problems: list[str] = []
    n = len(frame)
    for col in spec.columns:
        if col.name not in mapping:
            out[col.name] = [None] * n
            continue
        raw = frame[mapping[col.name]]
        present = raw.notna() & (raw.astype(str).str.strip() != "")
        if col.type == "text":
            values = raw.astype(object).where(present, None)
            out[col.name] = [None if v is None else str(v).strip() for v in values]
            continue
        if col.type in ("float", "integer"):
            parsed = pd.to_numeric(raw.where(present), errors="coerce")
            bad = present & parsed.isna()
            if col.type == "integer":
                bad |= present & parsed.notna() & (parsed % 1 != 0)
            conv = parsed.astype(object).where(parsed.notna(), None)
            out[col.name] = [None if v is None else (int(v) if col.type == "integer" else float(v)) for v in conv]
        else:  # date
            parsed = pd.to_datetime(raw.where(present), errors="coerce")
            bad = present & parsed.isna()
            out[col.name] = [None if pd.isna(v) else v.date() for v in parsed]
        for i in np.flatnonzero(bad.to_numpy())[:5]:
            problems.append(
                f"要素 feature {fids[i]} 字段 field {mapping[col.name]}: {raw.iloc[i]!r} 不是{col.type} / is not a {col.type}"
            )
        if bad.any() and bad.sum() > 5:
            problems.append(f"… {int(bad.sum())} values in field {mapping[col.name]} in all")
    if problems:
        raise LayerImportError("属性值无法转换 / attribute values cannot be converted:\n" + "\n".join(problems))
    return out


def _props(frame: pd.DataFrame, extra: list[str]) -> list[bytes]:
    # jsonb's binary COPY format is a version byte (1) followed by the JSON text.
    if not extra:
        return [b"\x01{}"] * len(frame)
    lines = frame[extra].to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return [b"\x01" + line.encode("utf-8") for line in lines.splitlines()]


def prepare(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str, crs: int | None = None) -> PreparedLayer:
    """Map attributes, check and repair geometries and reproject to the storage SRID (no database)."""
    if crs is None:
        if gdf.crs is None:
            raise LayerImportError(
                f"{source}: 文件没有坐标系 / the file states no coordinate system; give it with --crs EPSG"
            )
        epsg = gdf.crs.to_epsg()
        if epsg is None:
            raise LayerImportError(f"{source}: 坐标系无法识别为EPSG代码 / cannot identify the CRS as an EPSG code: {gdf.crs.name}")
        crs = epsg
    fids = np.asarray(gdf.index.astype(str))
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    keep = np.ones(len(geoms), dtype=bool)
    rejected: list[tuple[str, str]] = []
    repaired: list[tuple[str, str]] = []

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        rejected.append((fids[i], "没有几何 / no geometry"))
    keep &= ~missing
    types = shapely.get_type_id(geoms)
    non_polygonal = keep & ~np.isin(types, _POLYGONAL)
    for i in np.flatnonzero(non_polygonal):
        rejected.append((fids[i], f"不是面 / not a polygon: {shapely.get_type_id(geoms[i])}"))
    keep &= ~non_polygonal

    invalid = keep & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        fixed = shapely.make_valid(geoms[i])
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
        if not polys:
            rejected.append((fids[i], f"无效且无法修复 / invalid and cannot be repaired: {reason}"))
            keep[i] = False
            continue
        geoms[i] = shapely.union_all(polys)
        repaired.append((fids[i], reason))

    geoms = geoms[keep]
    polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    if polygons.any():
        geoms[polygons] = shapely.multipolygons(geoms[polygons].reshape(-1, 1))
    if crs != STORAGE_SRID:
        t = transformer(crs, STORAGE_SRID)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    wkb = shapely.to_wkb(shapely.set_srid(geoms, STORAGE_SRID), include_srid=True)

    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).loc[keep]
    mapping = _column_mapping(spec, list(frame.columns))
    kept_fids = fids[keep]
    columns = _coerce(spec, frame, mapping, kept_fids)
    extra = [c for c in frame.columns if c not in set(mapping.values())]
    return PreparedLayer(
        spec=spec,
        source=source,
        src_fid=list(kept_fids),
        columns=columns,
        props=_props(frame, extra),
        wkb=list(wkb),
        repaired=repaired,
        rejected=rejected,
        mapping=mapping,
    )


def read(path: Path, layer_name: str, crs: int | None = None) -> PreparedLayer:
    """Read a file for a catalog layer and prepare its features."""
    spec = layer(layer_name)
    try:
        gdf = read_vector(path, _source_layer(path, layer_name))
    except VectorFileError as exc:
        raise LayerImportError(str(exc)) from exc
    return prepare(gdf, spec, source=str(path), crs=crs)


def load(
    conn: psycopg.Connection,
    prepared: PreparedLayer,
    replace: bool = True,
    progress: Progress | None = None,
    max_rejected: int | None = None,
) -> ImportResult:
    """Load prepared features in one transaction and bump the layer version; on any error nothing changes."""
    spec = prepared.spec
    if max_rejected is not None and len(prepared.rejected) > max_rejected:
        shown = "\n".join(f"  {fid}: {why}" for fid, why in prepared.rejected[:10])
        raise LayerImportError(
            f"{len(prepared.rejected)} 个要素被拒绝 / features rejected (more than {max_rejected} allowed):\n{shown}"
        )
    started = time.perf_counter()
    table = sql.Identifier(spec.name)
    index = sql.Identifier(f"idx_{spec.name}_geom")
    names = ["src_fid", *spec.column_names, "props", "geom"]
    types = ["text"] + [_PG_TYPES[c.type] for c in spec.columns] + ["bytea", "bytea"]
    total = len(prepared)
    with conn.transaction():
        # One import of a layer at a time; readers keep the old version until commit.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"landwindow.layer.{spec.name}",))
        first_new_id = 0
        if replace:
            conn.execute(sql.SQL("TRUNCATE {}").format(table))
            if spec.sub_table is not None:
                conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(spec.sub_name)))
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(index))
        else:
            row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(table)).fetchone()
            first_new_id = int(row[0]) if row else 0
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names))
        )
        cols: list[Sequence[object]] = [prepared.src_fid, *(prepared.columns[c] for c in spec.column_names), prepared.props, prepared.wkb]
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.set_types(types)
            for start in range(0, total, COPY_BATCH):
                for row in zip(*(c[start : start + COPY_BATCH] for c in cols), strict=True):
                    copy.write_row(row)
                if progress:
                    progress(min(start + COPY_BATCH, total), total)
        if replace:
            conn.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(index, table))
        if spec.sub_table is not None:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {sub} (feature_id, geom) "
                    "SELECT id, g FROM (SELECT id, ST_Subdivide(geom, %s) AS g FROM {t} WHERE id > %s) s "
                    "WHERE GeometryType(g) = 'POLYGON'"
                ).format(sub=sql.Identifier(spec.sub_name), t=table),
                (SUBDIVIDE_VERTICES, first_new_id),
            )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
        count_row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
        count = int(count_row[0]) if count_row else 0
        version_row = conn.execute(
            """
            INSERT INTO layer_versions (layer, version, feature_count, loaded_at, source)
            VALUES (%(layer)s, 1, %(count)s, now(), %(source)s)
            ON CONFLICT (layer) DO UPDATE
               SET version = layer_versions.version + 1, feature_count = EXCLUDED.feature_count,
                   loaded_at = EXCLUDED.loaded_at, source = EXCLUDED.source
            RETURNING version
            """,
            {"layer": spec.name, "count": count, "source": prepared.source},
        ).fetchone()
        version = int(version_row[0]) if version_row else 0
        conn.execute(
            "INSERT INTO layer_loads (layer, version, source, feature_count, repaired, rejected, replaced) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (spec.name, version, prepared.source, total, len(prepared.repaired), len(prepared.rejected), int(replace)),
        )
    return ImportResult(
        layer=spec.name,
        version=version,
        feature_count=count,
        loaded=total,
        repaired=prepared.repaired,
        rejected=prepared.rejected,
        mapping=prepared.mapping,
        seconds=time.perf_counter() - started,
    )


_PG_TYPES = {"text": "text", "integer": "int4", "float": "float8", "date": "date"}


def layer_versions(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Return {layer: {version, count}} for every catalog layer (0/0 for layers never loaded)."""
    from gis.catalog import catalog

    rows = conn.execute("SELECT layer, version, feature_count FROM layer_versions").fetchall()
    known = {str(r[0]): {"version": int(r[1]), "count": int(r[2])} for r in rows}
    return {name: known.get(name, {"version": 0, "count": 0}) for name in catalog()}
