"""Reading vector files (GeoPackage, Shapefile plain or zipped, GeoJSON, FlatGeobuf, KML) with pyogrio."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio

# dBase language driver ids that mean a Chinese code page.
_DBF_LDID_CHINESE = {0x4D: "GB18030", 0x7A: "GB18030"}


class VectorFileError(ValueError):
    """A vector file cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class VectorSource:
    """Where pyogrio reads a file from, with the attribute encoding to use (None: the file says)."""

    path: str
    encoding: str | None
    layer: str | None = None


def _dbf_encoding(dbf: bytes, cpg: bytes | None) -> str | None:
    """Decide the attribute encoding of a shapefile: its .cpg, else the DBF language id, else UTF-8 or GB18030."""
    if cpg is not None:
        name = cpg.decode("ascii", "replace").strip()
        return name or None
    if len(dbf) > 29 and dbf[29] in _DBF_LDID_CHINESE:
        return _DBF_LDID_CHINESE[dbf[29]]
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) > 10 else 0
    records = dbf[header_len:]
    try:
        records.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        # No .cpg and not UTF-8: Chinese survey software writes GBK (a subset of GB18030).
        return "GB18030"


def resolve(path: Path, layer: str | None = None) -> VectorSource:
    """Work out how to read `path`: zipped shapefiles via /vsizip/, shapefile encodings detected."""
    if not path.exists():
        raise VectorFileError(f"文件不存在 / file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                shps = [n for n in names if n.lower().endswith(".shp")]
                if not shps:
                    others = [n for n in names if n.lower().endswith((".gpkg", ".geojson", ".json", ".kml", ".fgb"))]
                    if len(others) == 1:
                        return VectorSource(f"/vsizip/{path}/{others[0]}", None, layer)
                    raise VectorFileError(
                        f"{path.name}: 压缩包内没有 .shp 文件 / the zip holds no .shp file (found: {', '.join(names[:8])})"
                    )
                if len(shps) > 1 and layer is None:
                    raise VectorFileError(
                        f"{path.name}: 压缩包内有多个 .shp 文件 / the zip holds several shapefiles: {', '.join(shps)}"
                    )
                shp = shps[0] if layer is None else next((s for s in shps if Path(s).stem == layer), shps[0])
                stem = shp[:-4]
                lower = {n.lower(): n for n in names}
                dbf_name = lower.get((stem + ".dbf").lower())
                if dbf_name is None:
                    raise VectorFileError(f"{path.name}: 缺少 {Path(stem).name}.dbf / the shapefile has no .dbf")
                cpg_name = lower.get((stem + ".cpg").lower())
                enc = _dbf_encoding(zf.read(dbf_name), zf.read(cpg_name) if cpg_name else None)
                return VectorSource(f"/vsizip/{path}/{shp}", enc, None)
        except zipfile.BadZipFile as exc:
            raise VectorFileError(f"{path.name}: 不是有效的zip文件 / not a valid zip file ({exc})") from exc
    if suffix == ".shp":
        dbf = path.with_suffix(".dbf")
        if not dbf.exists():
            dbf = path.with_suffix(".DBF")
        if not dbf.exists():
            raise VectorFileError(f"{path.name}: 缺少 .dbf 文件 / the shapefile has no .dbf beside it")
        cpg = path.with_suffix(".cpg")
        enc = _dbf_encoding(dbf.read_bytes(), cpg.read_bytes() if cpg.exists() else None)
        return VectorSource(str(path), enc, None)
    return VectorSource(str(path), None, layer)


def _reason(exc: Exception, path: Path) -> str:
    """GDAL's reason without the server's own folder (an upload's temporary one): the file is named by its name."""
    return str(exc).replace(f"{path.parent}/", "")


def list_layers(path: Path) -> list[str]:
    """Return the layer names of a multi-layer source (GeoPackage)."""
    src = resolve(path)
    try:
        return [str(row[0]) for row in pyogrio.list_layers(src.path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise VectorFileError(f"{path.name}: 无法读取 / cannot read: {_reason(exc, path)}") from exc


def read_vector(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame; attribute encodings detected, errors as VectorFileError."""
    src = resolve(path, layer)
    kwargs: dict[str, object] = {}
    if src.encoding:
        kwargs["encoding"] = src.encoding
    if src.layer:
        kwargs["layer"] = src.layer
    try:
        gdf = pyogrio.read_dataframe(src.path, fid_as_index=True, **kwargs)
    except Exception as exc:
        raise VectorFileError(f"{path.name}: 无法读取 / cannot read: {_reason(exc, path)}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise VectorFileError(f"{path.name}: 文件中没有几何 / the file has no geometry")
    return gdf
