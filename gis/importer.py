"""Bulk import of a layer: Arrow batches from pyogrio, checked and mapped, streamed into one binary COPY.

Reading, checking and encoding run in a worker thread while the database parses the COPY stream, so the two cores
of a window's server overlap. Geometries that need nothing (valid MultiPolygons already in EPSG:4490) keep GDAL's
WKB as it is; only the others are rebuilt.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pgpq
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS

from gis.catalog import STORAGE_SRID, LayerSpec, catalog, layer
from gis.crs import transformer
from gis.vector import VectorFileError, list_layers, resolve

Progress = Callable[[int, int], None]
"""Called with (features loaded so far, total features)."""

BATCH_ROWS = 65536
SUBDIVIDE_VERTICES = 256
_POLYGONAL = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))
_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int32(),
    "float": pa.float64(),
    "date": pa.date32(),
}
_EMPTY_PROPS = b"\x01{}"  # jsonb's binary COPY format: a version byte, then the JSON text


class LayerImportError(ValueError):
    """An import was refused; nothing was written. The message says which features or fields are wrong."""


@dataclass
class ImportReport:
    """What the checks found while loading."""

    mapping: dict[str, str] = field(default_factory=dict)
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    loaded: int = 0


@dataclass
class LayerSource:
    """Features for one catalog layer, read lazily as Arrow record batches."""

    spec: LayerSpec
    source: str
    epsg: int
    fields: list[str]
    total: int | None
    batches: Callable[[], Iterator[tuple[pa.RecordBatch, str, str | None]]]
    """Yields (batch, geometry column, fid column or None)."""

    def __len__(self) -> int:
        return self.total or 0


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


def _epsg(crs: object, given: int | None, source: str) -> int:
    if given is not None:
        return given
    if crs is None:
        raise LayerImportError(
            f"{source}: 文件没有坐标系 / the file states no coordinate system; give it with --crs EPSG"
        )
    epsg = CRS.from_user_input(crs).to_epsg()
    if epsg is None:
        raise LayerImportError(f"{source}: 坐标系无法识别为EPSG代码 / cannot identify the CRS as an EPSG code: {crs}")
    return int(epsg)


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


def read(path: Path, layer_name: str, crs: int | None = None) -> LayerSource:
    """Open a file for a catalog layer: its CRS, fields and feature count are read now, features when loading."""
    spec = layer(layer_name)
    try:
        src = resolve(path)
        source_layer = _source_layer(path, layer_name) if src.layer is None else src.layer
        info = pyogrio.read_info(src.path, layer=source_layer, encoding=src.encoding)
    except VectorFileError as exc:
        raise LayerImportError(str(exc)) from exc
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise LayerImportError(f"{path.name}: 无法读取 / cannot read: {exc}") from exc
    epsg = _epsg(info.get("crs"), crs, str(path))
    fields = [str(f) for f in info["fields"]]

    def batches() -> Iterator[tuple[pa.RecordBatch, str, str | None]]:
        with pyogrio.open_arrow(
            src.path,
            layer=source_layer,
            encoding=src.encoding,
            return_fids=True,
            use_pyarrow=True,
            batch_size=BATCH_ROWS,
        ) as (meta, reader):
            for batch in reader:
                yield batch, meta["geometry_name"] or "wkb_geometry", "fid"

    return LayerSource(spec, str(path), epsg, fields, int(info.get("features") or 0) or None, batches)


def from_frame(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str, crs: int | None = None) -> LayerSource:
    """Wrap an in-memory GeoDataFrame (its index is the feature id) as a layer source."""
    epsg = _epsg(gdf.crs, crs, source)
    geom = gdf.geometry.name
    frame = gdf.rename_axis("__fid").reset_index()
    frame["__fid"] = frame["__fid"].astype(str)
    table = pa.Table.from_pandas(frame.drop(columns=geom), preserve_index=False).append_column(
        geom, pa.array(shapely.to_wkb(np.asarray(gdf.geometry.values, dtype=object)), type=pa.binary())
    )
    fields = [c for c in gdf.columns if c != geom]

    def batches() -> Iterator[tuple[pa.RecordBatch, str, str | None]]:
        for batch in table.to_batches(BATCH_ROWS):
            yield batch, geom, "__fid"

    return LayerSource(spec, source, epsg, fields, len(gdf), batches)


def prepare(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str, crs: int | None = None) -> LayerSource:
    """Alias of from_frame, kept for callers that build layers in memory."""
    return from_frame(gdf, spec, source, crs)


class _Converter:
    """Turns source batches into batches of the layer table's COPY columns, recording repairs and rejections."""

    def __init__(self, src: LayerSource, report: ImportReport) -> None:
        self.lock = threading.Lock()
        self.spec = src.spec
        self.epsg = src.epsg
        self.report = report
        self.mapping = _column_mapping(src.spec, src.fields)
        report.mapping = self.mapping
        self.extra = [f for f in src.fields if f not in set(self.mapping.values())]
        self.schema = pa.schema(
            [("src_fid", pa.string())]
            + [(c.name, _ARROW_TYPES[c.type]) for c in src.spec.columns]
            + [("props", pa.binary()), ("geom", pa.binary())]
        )
        self.to_storage = transformer(src.epsg, STORAGE_SRID) if src.epsg != STORAGE_SRID else None

    def convert(self, batch: pa.RecordBatch, geom_name: str, fid_name: str | None) -> pa.RecordBatch:
        n = batch.num_rows
        fids = (
            pc.cast(batch.column(fid_name), pa.string())
            if fid_name and fid_name in batch.schema.names
            else pa.array([str(self.report.loaded + i) for i in range(n)])
        )
        wkb_col = batch.column(geom_name)
        if isinstance(wkb_col.type, pa.ExtensionType):
            wkb_col = wkb_col.storage
        keep, wkb = self._geometries(wkb_col, fids)
        columns = [fids]
        for col in self.spec.columns:
            columns.append(self._attribute(batch, col.name, col.type, fids))
        columns.append(self._props(batch, n))
        columns.append(wkb)
        out = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        return out if keep is None else out.filter(pa.array(keep))

    def _geometries(self, wkb_col: pa.Array, fids: pa.Array) -> tuple[np.ndarray | None, pa.Array]:
        geoms = shapely.from_wkb(np.asarray(wkb_col.to_numpy(zero_copy_only=False), dtype=object), on_invalid="ignore")
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        types = shapely.get_type_id(geoms)
        polygonal = np.isin(types, _POLYGONAL)
        valid = shapely.is_valid(geoms)
        keep = ~missing & polygonal
        changed = keep & (~valid | (types != int(shapely.GeometryType.MULTIPOLYGON)))
        fid_list = None
        if (~keep).any() or changed.any():
            fid_list = fids.to_pylist()
        for i in np.flatnonzero(~keep):
            assert fid_list is not None
            why = "没有几何 / no geometry" if missing[i] else f"不是面 / not a polygon: {shapely.get_type_id(geoms[i])}"
            self.report.rejected.append((fid_list[i], why))
        for i in np.flatnonzero(keep & ~valid):
            assert fid_list is not None
            reason = shapely.is_valid_reason(geoms[i])
            parts = [
                p
                for p in shapely.get_parts(shapely.make_valid(geoms[i]))
                if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty
            ]
            if not parts:
                self.report.rejected.append((fid_list[i], f"无效且无法修复 / invalid and cannot be repaired: {reason}"))
                keep[i] = False
                continue
            geoms[i] = shapely.union_all(parts)
            self.report.repaired.append((fid_list[i], reason))
        if self.to_storage is None and not changed.any():
            out = wkb_col  # GDAL's WKB is already what the column wants: no second encoding
        else:
            fixed = geoms.copy()
            fixed[~keep] = shapely.from_wkt("MULTIPOLYGON EMPTY")
            single = keep & (shapely.get_type_id(fixed) == int(shapely.GeometryType.POLYGON))
            if single.any():
                fixed[single] = shapely.multipolygons(fixed[single].reshape(-1, 1))
            if self.to_storage is not None:
                t = self.to_storage
                fixed = shapely.transform(fixed, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
            # plain WKB: PostGIS gives SRID-less input the column's SRID (4490)
            out = pa.array(shapely.to_wkb(fixed), type=pa.binary())
        with self.lock:
            self.report.loaded += int(keep.sum())
        return (None if keep.all() else keep), out

    def _attribute(self, batch: pa.RecordBatch, name: str, kind: str, fids: pa.Array) -> pa.Array:
        target = _ARROW_TYPES[kind]
        if name not in self.mapping:
            return pa.nulls(batch.num_rows, type=target)
        raw = batch.column(self.mapping[name])
        if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
            raw = pc.utf8_trim_whitespace(raw)
            raw = pc.if_else(pc.equal(raw, ""), pa.scalar(None, raw.type), raw)
        if kind == "text":
            return pc.cast(raw, pa.string())
        try:
            if kind == "date" and pa.types.is_timestamp(raw.type):
                return pc.cast(pc.cast(raw, pa.timestamp("s")), pa.date32())
            if kind == "date" and pa.types.is_string(raw.type):
                return pc.cast(
                    pc.strptime(pc.utf8_slice_codeunits(raw, 0, 10), format="%Y-%m-%d", unit="s"), pa.date32()
                )
            return pc.cast(raw, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values, fid_list = raw.to_pylist(), fids.to_pylist()
            bad = []
            for i, v in enumerate(values):
                try:
                    pc.cast(pa.array([v]), target) if kind != "date" else pc.strptime(
                        pa.array([str(v)[:10]]), format="%Y-%m-%d", unit="s"
                    )
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    bad.append(
                        f"要素 feature {fid_list[i]} 字段 field {self.mapping[name]}: {v!r} 不是{kind} / is not a {kind}"
                    )
            raise LayerImportError(
                "属性值无法转换 / attribute values cannot be converted:\n"
                + "\n".join(bad[:10])
                + (f"\n… {len(bad)} values in field {self.mapping[name]} in all" if len(bad) > 10 else "")
            ) from None

    def _props(self, batch: pa.RecordBatch, n: int) -> pa.Array:
        present = [f for f in self.extra if f in batch.schema.names]
        if not present:
            return pa.array([_EMPTY_PROPS] * n, type=pa.binary())
        rows = batch.select(present).to_pylist()
        return pa.array(
            [b"\x01" + json.dumps(r, ensure_ascii=False, default=str).encode() for r in rows], type=pa.binary()
        )


def _pipeline(src: LayerSource, conv: _Converter, workers: int = 2, ahead: int = 4) -> Iterator[pa.RecordBatch]:
    """Convert batches on worker threads (shapely releases the GIL), in order, a few ahead of the COPY."""
    pending: deque[Future[pa.RecordBatch]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="landwindow-import") as pool:
        for batch, geom, fid in src.batches():
            pending.append(pool.submit(conv.convert, batch, geom, fid))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def load(
    conn: psycopg.Connection,
    src: LayerSource,
    replace: bool = True,
    progress: Progress | None = None,
    max_rejected: int | None = None,
) -> ImportResult:
    """Load a layer in one transaction and bump its version; on any error nothing changes."""
    spec = src.spec
    started = time.perf_counter()
    report = ImportReport()
    conv = _Converter(src, report)
    table = sql.Identifier(spec.name)
    gist = sql.Identifier(f"idx_{spec.name}_geom")
    btrees = [(sql.Identifier(f"ix_{spec.name}_{c.name}"), sql.Identifier(c.name)) for c in spec.columns if c.index]
    names = [f.name for f in conv.schema]
    with conn.transaction():
        # One import of a layer at a time; readers keep the old version until commit.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"landwindow.layer.{spec.name}",))
        first_new_id = 0
        if replace:
            conn.execute(sql.SQL("TRUNCATE {}").format(table))
            if spec.sub_table is not None:
                conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(spec.sub_name)))
            # indexes are built once after the load: much faster than maintaining them row by row
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(gist))
            for ix, _ in btrees:
                conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(ix))
        else:
            row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(table)).fetchone()
            first_new_id = int(row[0]) if row else 0
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names))
        )
        encoder = pgpq.ArrowToPostgresBinaryEncoder(conv.schema)
        total = src.total or 0
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.write(encoder.write_header())
            for out in _pipeline(src, conv):
                if max_rejected is not None and len(report.rejected) > max_rejected:
                    break
                copy.write(encoder.write_batch(out))
                if progress:
                    progress(report.loaded, max(total, report.loaded))
            copy.write(encoder.finish())
        if max_rejected is not None and len(report.rejected) > max_rejected:
            shown = "\n".join(f"  {fid}: {why}" for fid, why in report.rejected[:10])
            raise LayerImportError(
                f"{len(report.rejected)} 个要素被拒绝 / features rejected (more than {max_rejected} allowed):\n{shown}"
            )
        if replace:
            conn.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(gist, table))
            for ix, col in btrees:
                conn.execute(sql.SQL("CREATE INDEX {} ON {} ({})").format(ix, table, col))
        if spec.sub_table is not None:
            conn.execute(
                sql.SQL(
                    # Cut in the feature's 3° GK zone, where checks measure: cut lines are straight there, so
                    # pieces meet exactly when projected back (cut in degrees, long cut edges leave false slivers).
                    # A piece can come back from the zone a hair self-intersecting (GEOS then refuses it in a check):
                    # such pieces are repaired, the rest are kept as cut.
                    "INSERT INTO {sub} (feature_id, geom) "
                    "SELECT id, (ST_Dump(CASE WHEN ST_IsValid(p) THEN p ELSE ST_CollectionExtract(ST_MakeValid(p), 3) END)).geom "
                    "FROM (SELECT id, ST_Transform(g, {srid}) AS p FROM ("
                    "  SELECT id, ST_Subdivide(ST_Transform(geom, 4488 + floor((ST_X(ST_Centroid(geom)) + 1.5) / 3)::int), %s) AS g "
                    "  FROM {t} WHERE id > %s) s "
                    "WHERE GeometryType(g) = 'POLYGON') pieces"
                ).format(sub=sql.Identifier(spec.sub_name), t=table, srid=sql.Literal(STORAGE_SRID)),
                (SUBDIVIDE_VERTICES, first_new_id),
            )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
        if replace:
            count = report.loaded
        else:
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
            {"layer": spec.name, "count": count, "source": src.source},
        ).fetchone()
        version = int(version_row[0]) if version_row else 0
        conn.execute(
            "INSERT INTO layer_loads (layer, version, source, feature_count, repaired, rejected, replaced) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (spec.name, version, src.source, report.loaded, len(report.repaired), len(report.rejected), int(replace)),
        )
    return ImportResult(
        layer=spec.name,
        version=version,
        feature_count=count,
        loaded=report.loaded,
        repaired=report.repaired,
        rejected=report.rejected,
        mapping=report.mapping,
        seconds=time.perf_counter() - started,
    )


def layer_versions(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Return {layer: {version, count}} for every catalog layer (0/0 for layers never loaded)."""
    rows = conn.execute("SELECT layer, version, feature_count FROM layer_versions").fetchall()
    known = {str(r[0]): {"version": int(r[1]), "count": int(r[2])} for r in rows}
    return {name: known.get(name, {"version": 0, "count": 0}) for name in catalog()}
