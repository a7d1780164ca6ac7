"""The one-map layer catalog: which layers exist, their typed columns and their tables."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

STORAGE_SRID = 4490
"""Every layer and boundary is stored in CGCS2000 geographic coordinates (lon/lat)."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""The one schema of the database: the layers here, the cases added by the service."""

_COLUMN_TYPES: dict[str, type[TypeEngine]] = {
    "text": Text,
    "integer": Integer,
    "float": Float,
    "date": Date,
    "timestamp": DateTime,
}


COUNTY_CODE = re.compile(r"^[1-9][0-9]{5}$")
"""A county's GB/T 2260 administrative code: the key every layer table is LIST-partitioned by."""

CASE_MAP = ("pending", "approved")
"""What a case can be on the one map (cases.on_map): its applied boundary while pending, its land once approved."""


class CatalogError(ValueError):
    """The layer catalog data is inconsistent, or a layer name is unknown."""


@dataclass(frozen=True)
class ColumnSpec:
    """One typed attribute column of a layer."""

    name: str
    type: str
    aliases: tuple[str, ...] = ()
    private: bool = False
    index: bool = False
    landuse_code: bool = False


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the one map, as the catalog data describes it."""

    name: str
    title: str
    title_en: str
    columns: tuple[ColumnSpec, ...]
    table: Table = field(compare=False, repr=False)
    sub_table: Table | None = field(compare=False, repr=False)
    subdivide: bool = False
    minzoom: int = 10
    label: str | None = None
    source_layers: tuple[str, ...] = ()
    """Names (lower case) of the source layer holding this layer in a multi-layer file, besides its own name."""
    cases: str | None = None
    """For a layer of the cases (a view over the cases table): the cases it shows, `pending` or `approved`."""

    @property
    def column_names(self) -> list[str]:
        """Return the typed attribute column names in catalog order."""
        return [c.name for c in self.columns]

    @property
    def public_columns(self) -> list[str]:
        """Return the attribute columns that may appear in vector tiles."""
        return [c.name for c in self.columns if not c.private]

    @property
    def sub_name(self) -> str:
        """Return the name of the subdivided side table."""
        return f"{self.name}_sub"


def _column_type(layer_name: str, c: ColumnSpec) -> TypeEngine:
    if c.type not in _COLUMN_TYPES:
        raise CatalogError(f"layer {layer_name}: column {c.name} has unknown type {c.type!r}")
    return DateTime(timezone=True) if c.type == "timestamp" else _COLUMN_TYPES[c.type]()


def _build_tables(name: str, columns: tuple[ColumnSpec, ...], subdivide: bool) -> tuple[Table, Table | None]:
    # Every layer table is LIST-partitioned by county (one partition per county, `<table>_c<code>`), so an
    # instance holds many counties and an import replaces one county's partition without touching the others.
    # Ids come from one sequence per table (a partitioned table has no identity column before PostgreSQL 17) and
    # stay unique across the counties; the primary key carries the partition key, as PostgreSQL requires.
    cols: list[Column] = [
        Column("id", BigInteger, primary_key=True, server_default=text(f"nextval('{name}_id_seq'::regclass)")),
        Column("src_fid", Text, nullable=True, comment="feature id in the source file"),
    ]
    for c in columns:
        cols.append(Column(c.name, _column_type(name, c), nullable=True, index=c.index))
    cols += [
        Column("props", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("geom", Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False),
        Column("county", Text, primary_key=True),
    ]
    table = Table(name, metadata, *cols, postgresql_partition_by="LIST (county)")
    sub = None
    if subdivide:
        sub_name = f"{name}_sub"
        sub = Table(
            sub_name,
            metadata,
            Column("id", BigInteger, primary_key=True, server_default=text(f"nextval('{sub_name}_id_seq'::regclass)")),
            Column("feature_id", BigInteger, nullable=False, index=True),
            Column("geom", Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=False),
            Column("county", Text, primary_key=True),
            postgresql_partition_by="LIST (county)",
        )
    return table, sub


def partition_name(table: str, county: str) -> str:
    """Return the name of one county's partition of a layer table (`parcels_c421202`)."""
    return f"{table}_c{county}"


def is_partition(table: str) -> bool:
    """Return whether a table name is one county's partition of a layer table (not in the metadata itself)."""
    base, _, code = table.rpartition("_c")
    return bool(base) and COUNTY_CODE.match(code) is not None and base in metadata.tables


layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer", Text, primary_key=True),
    Column("version", Integer, nullable=False, server_default=text("0")),
    Column("feature_count", BigInteger, nullable=False, server_default=text("0")),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("source", Text, nullable=True),
)
"""The current version of each layer; bumped in the same transaction as every load."""

layer_loads = Table(
    "layer_loads",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("layer", Text, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("source", Text, nullable=True),
    Column("feature_count", BigInteger, nullable=False),
    Column("repaired", Integer, nullable=False, server_default=text("0")),
    Column("rejected", Integer, nullable=False, server_default=text("0")),
    Column("replaced", Integer, nullable=False, server_default=text("1")),
    Column("county", Text, nullable=True, comment="the county whose partition the load replaced or added to"),
)
"""History of every load of every layer (one row per import)."""


def _columns(spec: dict[str, Any]) -> tuple[ColumnSpec, ...]:
    return tuple(
        ColumnSpec(
            cname,
            c["type"],
            tuple(a.lower() for a in c.get("aliases", ())),
            bool(c.get("private", False)),
            bool(c.get("index", False)),
            bool(c.get("landuse_code", False)),
        )
        for cname, c in spec["columns"].items()
    )


@cache
def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("gis").joinpath("data/layers.toml").read_text("utf-8"))


@cache
def catalog() -> dict[str, LayerSpec]:
    """Return the imported layers of the catalog, read once from gis/data/layers.toml."""
    out: dict[str, LayerSpec] = {}
    for name, spec in _raw()["layers"].items():
        columns = _columns(spec)
        table, sub = _build_tables(name, columns, bool(spec.get("subdivide", False)))
        out[name] = LayerSpec(
            name=name,
            title=spec["title"],
            title_en=spec["title_en"],
            columns=columns,
            subdivide=bool(spec.get("subdivide", False)),
            minzoom=int(spec.get("minzoom", 10)),
            label=spec.get("label"),
            source_layers=tuple(str(n).lower() for n in spec.get("source_layers", ())),
            table=table,
            sub_table=sub,
        )
    return out


case_views = MetaData()
"""The views of the case layers: kept apart from the schema's metadata (the migration creates them as views)."""


@cache
def case_layers() -> dict[str, LayerSpec]:
    """Return the layers of the cases (pending applications, approved land): views over the cases table."""
    out: dict[str, LayerSpec] = {}
    for name, spec in _raw().get("case_layers", {}).items():
        if name in _raw()["layers"]:
            raise CatalogError(f"case layer {name} is also an imported layer")
        if spec.get("cases") not in CASE_MAP:
            raise CatalogError(f"case layer {name}: `cases` must be one of {', '.join(CASE_MAP)}")
        columns = _columns(spec)
        cols: list[Column] = [Column("id", BigInteger, primary_key=True)]
        cols += [Column(c.name, _column_type(name, c)) for c in columns]
        cols.append(Column("geom", Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False)))
        # the county the case was lodged in (not a column of the tiles): staff of one county see its cases alone
        cols.append(Column("county", Text))
        out[name] = LayerSpec(
            name=name,
            title=spec["title"],
            title_en=spec["title_en"],
            columns=columns,
            minzoom=int(spec.get("minzoom", 10)),
            label=spec.get("label"),
            table=Table(name, case_views, *cols),
            sub_table=None,
            cases=spec["cases"],
        )
    return out


def all_layers() -> dict[str, LayerSpec]:
    """Return every layer of the one map: the imported ones, then the layers of the cases."""
    return {**catalog(), **case_layers()}


def layer(name: str) -> LayerSpec:
    """Return one imported layer of the catalog, or raise CatalogError naming the known layers."""
    layers = catalog()
    if name not in layers:
        raise CatalogError(f"未知图层 unknown layer {name!r}; known layers: {', '.join(layers)}")
    return layers[name]


def any_layer(name: str) -> LayerSpec:
    """Return a layer of the one map, imported or of the cases, or raise CatalogError naming them all."""
    layers = all_layers()
    if name not in layers:
        raise CatalogError(f"未知图层 unknown layer {name!r}; known layers: {', '.join(layers)}")
    return layers[name]


def case_layer(name: str) -> LayerSpec:
    """Return a layer of the cases, or raise CatalogError naming them."""
    layers = case_layers()
    if name not in layers:
        raise CatalogError(f"未知的案件图层 unknown case layer {name!r}; known: {', '.join(layers)}")
    return layers[name]
