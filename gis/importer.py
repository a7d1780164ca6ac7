"""Bulk import of a layer: Arrow batches from pyogrio, checked and mapped, streamed into one binary COPY.

Reading, checking and encoding run in a worker thread while the database parses the COPY stream, so the two cores
of a window's server overlap. Geometries that need nothing (valid MultiPolygons already in EPSG:4490) keep GDAL's
WKB as it is; only the others are rebuilt.
"""

from __future__ import annotations

import json
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from gis.catalog import COUNTY_CODE, STORAGE_SRID, LayerSpec, catalog, layer, partition_name
from gis.crs import transformer
from gis.vector import VectorFileError, list_layers, resolve

if TYPE_CHECKING:
    from gis.boundary.model import CountyExtent

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
    driver: str | None = None
    """The GDAL driver that reads the file (GPKG, ESRI Shapefile, OpenFileGDB …), when read from a file."""
    source_layer: str | None = None
    """The layer read in a multi-layer source."""

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
    county: str = ""
    """The county whose partition was loaded (GB/T 2260 code)."""


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


def _source_layer(path: Path, spec: LayerSpec) -> str | None:
    """Pick the layer of a multi-layer source: named after the catalog layer, or one of its `source_layers`."""
    if path.suffix.lower() not in {".gpkg", ".sqlite", ".gdb"}:
        return None
    names = list_layers(path)
    if spec.name in names:
        return spec.name
    wanted = (spec.name, *spec.source_layers)
    for candidate in wanted:
        match = next((n for n in names if n.lower() == candidate), None)
        if match is not None:
            return match
    if len(names) == 1:
        return names[0]
    raise LayerImportError(
        f"{path.name}: 文件中有多个图层且没有名为 {'/'.join(wanted)} 的图层 / the file has several layers and none is "
        f"named {'/'.join(wanted)}: {', '.join(names)}"
    )


def read(path: Path, layer_name: str, crs: int | None = None) -> LayerSource:
    """Open a file for a catalog layer: its CRS, fields and feature count are read now, features when loading."""
    spec = layer(layer_name)
    try:
        src = resolve(path)
        source_layer = _source_layer(path, spec) if src.layer is None else src.layer
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
                # the id column is named by the driver: fid (GeoPackage), OBJECTID (FileGDB), OGC_FID (Shapefile)
                yield batch, meta["geometry_name"] or "wkb_geometry", meta.get("fid_column") or "fid"

    total = int(info.get("features") or 0) or None
    return LayerSource(
        spec, str(path), epsg, fields, total, batches, driver=info.get("driver"), source_layer=source_layer
    )


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


def default_county() -> str:
    """Return gis's default county code (gis/data/county.toml), for callers that name none."""
    raw = tomllib.loads(resources.files("gis").joinpath("data/county.toml").read_text("utf-8"))
    return str(raw["admin_code"])


def _county_code(county: str | None) -> str:
    code = default_county() if county is None else county
    if not COUNTY_CODE.match(code):
        raise LayerImportError(
            f"县级行政区划代码应为6位数字 / the county code must be six digits (GB/T 2260), got {code!r}"
        )
    return code


def _ensure_partition(conn: psycopg.Connection, table: str, county: str) -> sql.Identifier:
    """Create one county's partition of a layer table when it has none yet; return its name."""
    part = sql.Identifier(partition_name(table, county))
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES IN ({})").format(
            part, sql.Identifier(table), sql.Literal(county)
        )
    )
    conn.execute(sql.SQL("ALTER TABLE {} ALTER county SET DEFAULT {}").format(part, sql.Literal(county)))
    return part


def county_partition(conn: psycopg.Connection, layer_name: str, county: str) -> None:
    """Make sure a layer (and its subdivided table) has a partition for a county, for rows written outside an import
    (a mining right granted on a case); nothing is locked when it has one already."""
    spec = layer(layer_name)
    code = _county_code(county)
    for table in (spec.name, spec.sub_name if spec.sub_table is not None else None):
        if table is None:
            continue
        cur = conn.execute("SELECT to_regclass(%s)", (partition_name(table, code),))
        row = cur.fetchone()
        if row is None or row[0] is None:
            _ensure_partition(conn, table, code)


def _fresh_partition(conn: psycopg.Connection, table: str, county: str) -> sql.Identifier:
    """Create an empty stand-alone table shaped like a layer table, to become one county's partition."""
    fresh = sql.Identifier(f"{partition_name(table, county)}_load")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(fresh))
    conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(fresh, sql.Identifier(table)))
    conn.execute(sql.SQL("ALTER TABLE {} ALTER county SET DEFAULT {}").format(fresh, sql.Literal(county)))
    # the constraint proves the rows belong to the partition, so ATTACH does not scan them again
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (county IS NOT NULL AND county = {})").format(
            fresh, sql.Identifier(f"ck_{partition_name(table, county)}_county"), sql.Literal(county)
        )
    )
    return fresh


def _swap_partition(conn: psycopg.Connection, table: str, county: str) -> int:
    """Put the freshly loaded table in place of one county's partition; return the old partition's rows."""
    name = partition_name(table, county)
    old = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    old_rows = 0
    if old and old[0] is not None:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
        old_rows = int(row[0]) if row else 0
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(f"{name}_load"), sql.Identifier(name)))
    indexes = conn.execute(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass",
        (name,),
    ).fetchall()
    for (index_name,) in indexes:
        if str(index_name).endswith("_load"):
            conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(index_name), sql.Identifier(str(index_name).removesuffix("_load"))
                )
            )
    conn.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
            sql.Identifier(table), sql.Identifier(name), sql.Literal(county)
        )
    )
    return old_rows


def _partition_indexes(conn: psycopg.Connection, table: str, part: sql.Identifier, county: str) -> None:
    """Build on a fresh partition the indexes its parent has (ATTACH then adopts them instead of building again)."""
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        (table,),
    ).fetchall()
    for index_name, definition in rows:
        # "CREATE INDEX idx_parcels_geom ON ONLY public.parcels USING gist (geom)" → the same on the partition,
        # named with _load until the old partition (holding the final names) is gone
        method_and_columns = str(definition).split(" USING ", 1)[1]
        name = sql.Identifier(f"{index_name}_c{county}_load")
        conn.execute(sql.SQL("CREATE INDEX {} ON {} USING ").format(name, part) + sql.SQL(method_and_columns))
    pk = sql.Identifier(f"pk_{partition_name(table, county)}_load")
    conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (id, county)").format(part, pk))


def load(
    conn: psycopg.Connection,
    src: LayerSource,
    replace: bool = True,
    progress: Progress | None = None,
    max_rejected: int | None = None,
    county: str | None = None,
) -> ImportResult:
    """Load a layer into one county's partition in one transaction and bump its version; on any error nothing
    changes. `replace` swaps in a new partition (the other counties' are not touched); else features are added."""
    spec = src.spec
    code = _county_code(county)
    started = time.perf_counter()
    report = ImportReport()
    conv = _Converter(src, report)
    names = [f.name for f in conv.schema]
    with conn.transaction():
        # One import of a county's layer at a time; readers keep the old partition until commit.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"landwindow.layer.{spec.name}.{code}",))
        first_new_id = 0
        if replace:
            # Loaded into a table of its own with no indexes, indexed once after the load (much faster than
            # maintaining them row by row), then attached in place of the county's old partition.
            target = _fresh_partition(conn, spec.name, code)
            sub_target = _fresh_partition(conn, spec.sub_name, code) if spec.sub_table is not None else None
        else:
            target = _ensure_partition(conn, spec.name, code)
            sub_target = _ensure_partition(conn, spec.sub_name, code) if spec.sub_table is not None else None
            row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(target)).fetchone()
            first_new_id = int(row[0]) if row else 0
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            target, sql.SQL(", ").join(map(sql.Identifier, names))
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
            _partition_indexes(conn, spec.name, target, code)
        if sub_target is not None:
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
                ).format(sub=sub_target, t=target, srid=sql.Literal(STORAGE_SRID)),
                (SUBDIVIDE_VERTICES, first_new_id),
            )
            if replace:
                _partition_indexes(conn, spec.sub_name, sub_target, code)
        if replace:
            old_rows = _swap_partition(conn, spec.name, code)
            if spec.sub_table is not None:
                _swap_partition(conn, spec.sub_name, code)
            added = report.loaded - old_rows
        else:
            added = report.loaded
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(partition_name(spec.name, code))))
        version_row = conn.execute(
            """
            INSERT INTO layer_versions (layer, version, feature_count, loaded_at, source)
            VALUES (%(layer)s, 1, %(added)s, now(), %(source)s)
            ON CONFLICT (layer) DO UPDATE
               SET version = layer_versions.version + 1,
                   feature_count = layer_versions.feature_count + %(added)s,
                   loaded_at = EXCLUDED.loaded_at, source = EXCLUDED.source
            RETURNING version, feature_count
            """,
            {"layer": spec.name, "added": added, "source": src.source},
        ).fetchone()
        version, count = (int(version_row[0]), int(version_row[1])) if version_row else (0, 0)
        conn.execute(
            "INSERT INTO layer_loads (layer, version, source, feature_count, repaired, rejected, replaced, county) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                spec.name,
                version,
                src.source,
                report.loaded,
                len(report.repaired),
                len(report.rejected),
                int(replace),
                code,
            ),
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
        county=code,
    )


def layer_versions(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Return {layer: {version, count}} for every catalog layer (0/0 for layers never loaded)."""
    rows = conn.execute("SELECT layer, version, feature_count FROM layer_versions").fetchall()
    known = {str(r[0]): {"version": int(r[1]), "count": int(r[2])} for r in rows}
    return {name: known.get(name, {"version": 0, "count": 0}) for name in catalog()}


# --- the dry run: what an import would do, without writing ---

_TYPE_NAMES = {
    -1: "none",
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


@cache
def plan_rules() -> dict[str, Any]:
    """Return what an import dry run reports (gis/data/import.toml)."""
    return tomllib.loads(resources.files("gis").joinpath("data/import.toml").read_text("utf-8"))


@dataclass
class ImportPlan:
    """What importing a file into a layer would do, found by reading it all and writing nothing."""

    layer: str
    title: str
    source: str
    driver: str | None
    source_layer: str | None
    source_crs: str
    """`EPSG:4526 (CGCS2000 / 3-degree Gauss-Kruger zone 38)`."""
    reprojected: bool
    features: int
    would_load: int
    fields: dict[str, str]
    """Source field → catalog column, or `props` for a field kept in the feature's JSON properties."""
    columns_without_source: list[str]
    geometry_types: dict[str, int]
    multi_part: int
    max_vertices: int
    huge_vertices: int
    """The threshold above which a feature is listed as huge."""
    huge: list[tuple[str, int]]
    """(feature id, vertices) of every feature above the threshold."""
    repaired: list[tuple[str, str]]
    rejected: list[tuple[str, str]]
    attribute_errors: list[str]
    code_column: str | None
    """The layer's column of GB/T 21010 codes, when it has one and the file fills it."""
    suffixed_codes: dict[str, int]
    unknown_codes: dict[str, int]
    extent: tuple[float, float, float, float] | None
    """lon_min, lat_min, lon_max, lat_max of the features, EPSG:4490."""
    outside_county: list[str]
    """Feature ids whose box centre lies outside the county extent (the one given, else gis/data/county.toml)."""

    @property
    def refused(self) -> bool:
        """Return whether the import would be refused (attribute values that do not convert)."""
        return bool(self.attribute_errors)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as plain JSON-ready values."""
        return {**asdict(self), "refused": self.refused}

    def lines(self) -> list[str]:
        """Return the plan as lines to print, 中文 / English."""
        listed = int(plan_rules()["listed"])

        def some(items: list[Any]) -> str:
            more = f" … (+{len(items) - listed})" if len(items) > listed else ""
            return ", ".join(str(i) for i in items[:listed]) + more

        where = f"{self.source}" + (f" · 图层 layer {self.source_layer}" if self.source_layer else "")
        out = [
            f"试运行 dry run: {self.layer}（{self.title}）← {where}" + (f" [{self.driver}]" if self.driver else ""),
            f"坐标系 CRS: {self.source_crs}"
            + (f" → EPSG:{STORAGE_SRID}（将转换 / reprojected）" if self.reprojected else "（无需转换 / as stored）"),
            f"要素 features: {self.features}; 将载入 would load {self.would_load}, 修复 repaired {len(self.repaired)}, "
            f"拒绝 rejected {len(self.rejected)}",
            "字段 fields (源字段 source → 列 column; props = 保留在属性JSON中 / kept in props):",
            *(f"  {src} → {col}" for src, col in self.fields.items()),
        ]
        if self.columns_without_source:
            out.append(
                f"无来源字段的列（将为空）/ columns no field fills (left empty): {', '.join(self.columns_without_source)}"
            )
        types = ", ".join(f"{k} {v}" for k, v in sorted(self.geometry_types.items()))
        out.append(
            f"几何 geometry: {types}; 多部件 multi-part {self.multi_part}; 最多顶点 most vertices {self.max_vertices}"
        )
        if self.huge:
            out.append(
                f"大图斑（>{self.huge_vertices}个顶点）huge patches (> {self.huge_vertices} vertices): {len(self.huge)}: "
                + some([f"{fid} ({n})" for fid, n in self.huge])
            )
        for label, items in (("将修复 would repair", self.repaired), ("将拒绝 would reject", self.rejected)):
            if items:
                out.append(f"{label} {len(items)}:")
                out += [f"  feature {fid}: {why}" for fid, why in items[:listed]]
                if len(items) > listed:
                    out.append(f"  … (+{len(items) - listed})")
        if self.code_column:
            suffixed = sum(self.suffixed_codes.values())
            out.append(
                f"地类编码 codes ({self.code_column}): 带工作后缀 with working suffixes {suffixed}"
                + (f" ({some([f'{c} ×{n}' for c, n in sorted(self.suffixed_codes.items())])})" if suffixed else "")
                + "，按原样保存，检查时去掉后缀 / stored as written, checks strip the suffix"
            )
            if self.unknown_codes:
                out.append(
                    "  不是 GB/T 21010 地类 not GB/T 21010 classes: "
                    + some([f"{c} ×{n}" for c, n in sorted(self.unknown_codes.items())])
                )
        if self.extent:
            lon0, lat0, lon1, lat1 = self.extent
            out.append(f"范围 extent: {lon0:.4f}–{lon1:.4f}°E, {lat0:.4f}–{lat1:.4f}°N")
        if self.outside_county:
            out.append(
                f"县域范围外 outside the county: {len(self.outside_county)}（请检查坐标系 / check the CRS）: "
                + some(self.outside_county)
            )
        for e in self.attribute_errors[:listed]:
            out.append(f"属性错误 attribute error: {e}")
        out.append(
            "导入将被拒绝 / the import would be refused" if self.refused else "可以导入 / the import would go ahead"
        )
        out.append("未写入任何数据 / nothing was written")
        return out


def plan_import(path: Path, layer_name: str, crs: int | None = None, extent: CountyExtent | None = None) -> ImportPlan:
    """Report what importing `path` into a layer would do — mapping, CRS, counts, repairs, codes — without writing.

    `extent` is the county's (the caller's county profile); features centred outside it are listed.
    """
    src = read(path, layer_name, crs)
    return plan_source(src, extent)


def plan_source(src: LayerSource, extent: CountyExtent | None = None) -> ImportPlan:
    """Run every check of a load over a layer source (converting each batch as a load would) and write nothing."""
    from gis.boundary.model import county_extent
    from gis.landuse import classes, normalize_code

    rules = plan_rules()
    huge_at = int(rules["huge_feature_vertices"])
    report = ImportReport()
    conv = _Converter(src, report)
    code_column = next((c.name for c in src.spec.columns if c.landuse_code and c.name in conv.mapping), None)
    known = classes()
    extent = extent or county_extent()
    to_lonlat = transformer(src.epsg, STORAGE_SRID) if src.epsg != STORAGE_SRID else None
    types: dict[str, int] = {}
    suffixed: dict[str, int] = {}
    unknown: dict[str, int] = {}
    huge: list[tuple[str, int]] = []
    outside: list[str] = []
    errors: list[str] = []
    box = [np.inf, np.inf, -np.inf, -np.inf]
    multi_part = max_vertices = features = 0
    for batch, geom_name, fid_name in src.batches():
        n = batch.num_rows
        fids = (
            pc.cast(batch.column(fid_name), pa.string()).to_pylist()
            if fid_name and fid_name in batch.schema.names
            else [str(features + i) for i in range(n)]
        )
        features += n
        wkb = batch.column(geom_name)
        if isinstance(wkb.type, pa.ExtensionType):
            wkb = wkb.storage
        geoms = shapely.from_wkb(np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object), on_invalid="ignore")
        type_ids, counts = np.unique(shapely.get_type_id(geoms), return_counts=True)
        for t, c in zip(type_ids.tolist(), counts.tolist(), strict=True):
            types[_TYPE_NAMES.get(t, str(t))] = types.get(_TYPE_NAMES.get(t, str(t)), 0) + c
        multi_part += int((shapely.get_num_geometries(geoms) > 1).sum())
        vertices = shapely.get_num_coordinates(geoms)
        max_vertices = max(max_vertices, int(vertices.max(initial=0)))
        huge += [(fids[i], int(vertices[i])) for i in np.flatnonzero(vertices > huge_at)]
        bounds = shapely.bounds(geoms)
        present = ~np.isnan(bounds[:, 0])
        if present.any():
            xs = np.concatenate([bounds[present, 0], bounds[present, 2], (bounds[present, 0] + bounds[present, 2]) / 2])
            ys = np.concatenate([bounds[present, 1], bounds[present, 3], (bounds[present, 1] + bounds[present, 3]) / 2])
            if to_lonlat is not None:
                xs, ys = to_lonlat.transform(xs, ys)
            k = int(present.sum())
            box = [
                min(box[0], float(np.min(xs))),
                min(box[1], float(np.min(ys))),
                max(box[2], float(np.max(xs))),
                max(box[3], float(np.max(ys))),
            ]
            centre_fids = [fids[i] for i in np.flatnonzero(present)]
            outside += [
                fid
                for fid, lon, lat in zip(centre_fids, xs[2 * k :], ys[2 * k :], strict=True)
                if not extent.contains(float(lon), float(lat))
            ]
        if code_column is not None:
            for value in batch.column(conv.mapping[code_column]).to_pylist():
                code = str(value).strip() if value is not None else ""
                if not code:
                    continue
                norm = normalize_code(code)
                if norm is None or norm not in known:
                    unknown[code] = unknown.get(code, 0) + 1
                elif norm != code:
                    suffixed[code] = suffixed.get(code, 0) + 1
        try:
            conv.convert(batch, geom_name, fid_name)
        except LayerImportError as exc:
            errors.append(str(exc))
    mapped = {source: column for column, source in conv.mapping.items()}
    crs_name = CRS.from_epsg(src.epsg).name
    return ImportPlan(
        layer=src.spec.name,
        title=src.spec.title,
        source=src.source,
        driver=src.driver,
        source_layer=src.source_layer,
        source_crs=f"EPSG:{src.epsg} ({crs_name})",
        reprojected=src.epsg != STORAGE_SRID,
        features=features,
        would_load=report.loaded,
        fields={f: mapped.get(f, "props") for f in src.fields},
        columns_without_source=[c.name for c in src.spec.columns if c.name not in conv.mapping],
        geometry_types=types,
        multi_part=multi_part,
        max_vertices=max_vertices,
        huge_vertices=huge_at,
        huge=huge,
        repaired=report.repaired,
        rejected=report.rejected,
        attribute_errors=errors,
        code_column=code_column,
        suffixed_codes=suffixed,
        unknown_codes=unknown,
        extent=(box[0], box[1], box[2], box[3]) if features and np.isfinite(box[0]) else None,
        outside_county=outside,
    )
