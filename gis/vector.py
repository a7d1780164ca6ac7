"""Reading vector files (GeoPackage, Shapefile plain or zipped, GeoJSON, FlatGeobuf, KML) with pyogrio.

Two ways in. `resolve` is the import path: an operator's trusted layer, streamed from its zip by GDAL (/vsizip/), bounded
only by the generous `layer_import` zip limits. `read_vector` is the upload path: an applicant's file, bounded before it
costs anything (gis/data/limits.toml, [upload]): the zip's directory is checked, the files needed are unpacked to disk
in a stream and counted as they come, GeoJSON nesting is measured without parsing, a GeoPackage is opened read-only with
sqlite3 and refused if reading it would run a query or code, and GDAL reads at most one feature past the cap.
"""

from __future__ import annotations

import codecs
import re
import sqlite3
import struct
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import pyogrio

from gis.limits import UploadLimits, ZipLimits, layer_import_zip_limits, mib, upload_limits

# dBase language driver ids that mean a Chinese code page.
_DBF_LDID_CHINESE = {0x4D: "GB18030", 0x7A: "GB18030"}
_VECTOR_IN_ZIP = (".gpkg", ".geojson", ".json", ".kml", ".fgb")
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_ARCHIVES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")
_CHUNK = 1 << 20
_GPKG_INSPECT_SECONDS = 2.0


class VectorFileError(ValueError):
    """A vector file cannot be read; the message names the file and what is wrong, `code` names the reason."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[VectorFileError], tuple[str, str]]:
        """Pickle with the code (the default would keep only the message)."""
        return type(self), (str(self), self.code)


@dataclass(frozen=True)
class VectorSource:
    """Where pyogrio reads a file from, with the attribute encoding to use (None: the file says)."""

    path: str
    encoding: str | None
    layer: str | None = None


def _dbf_encoding(dbf: IO[bytes], cpg: bytes | None) -> str | None:
    """Decide the attribute encoding of a shapefile: its .cpg, else the DBF language id, else UTF-8 or GB18030.

    The .dbf is read in a stream (a layer's can be gigabytes): its records are decoded as UTF-8 chunk by chunk.
    """
    if cpg is not None:
        name = cpg.decode("ascii", "replace").strip()
        return name or None
    head = dbf.read(32)
    if len(head) > 29 and head[29] in _DBF_LDID_CHINESE:
        return _DBF_LDID_CHINESE[head[29]]
    header_len = int.from_bytes(head[8:10], "little") if len(head) > 10 else 0
    skip = max(0, header_len - len(head))
    while skip > 0:
        got = len(dbf.read(min(skip, _CHUNK)))
        if not got:
            break
        skip -= got
    utf8 = codecs.getincrementaldecoder("utf-8")()
    try:
        if header_len < len(head):
            utf8.decode(head[header_len:])
        while chunk := dbf.read(_CHUNK):
            utf8.decode(chunk)
        utf8.decode(b"", final=True)
        return "UTF-8"
    except UnicodeDecodeError:
        # No .cpg and not UTF-8: Chinese survey software writes GBK (a subset of GB18030).
        return "GB18030"


def _zip_entry_count(path: Path) -> int | None:
    """Return the number of entries a zip's end record declares (zip64 too), read before zipfile parses the directory."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 65_557))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = int(struct.unpack_from("<H", tail, at + 10)[0])
    if count != 0xFFFF:
        return count
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if locator < 0 or len(tail) < locator + 20:
        return None
    offset = int(struct.unpack_from("<Q", tail, locator + 8)[0])
    with path.open("rb") as f:
        f.seek(offset)
        record = f.read(56)
    if len(record) < 40 or not record.startswith(b"PK\x06\x06"):
        return None
    return int(struct.unpack_from("<Q", record, 32)[0])


def _open_zip(path: Path, limits: ZipLimits) -> zipfile.ZipFile:
    """Open a zip whose directory holds no more entries than the limit."""
    count = _zip_entry_count(path)
    if count is not None and count > limits.members:
        raise VectorFileError(
            f"{path.name}: 压缩包内有 {count} 个文件，超过上限 {limits.members} 个 / "
            f"the zip holds {count} files, more than the limit of {limits.members}",
            "zip_members",
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise VectorFileError(f"{path.name}: 不是有效的zip文件 / not a valid zip file ({exc})") from exc
    if len(zf.infolist()) > limits.members:
        zf.close()
        raise VectorFileError(
            f"{path.name}: 压缩包内文件超过上限 {limits.members} 个 / the zip holds more than {limits.members} files",
            "zip_members",
        )
    return zf


def _too_large(path: Path, member: str, limits: ZipLimits) -> VectorFileError:
    return VectorFileError(
        f"{path.name}: {member} 解压后超过 {mib(limits.member_bytes)} / {member} expands to more than {mib(limits.member_bytes)}",
        "zip_too_large",
    )


def _too_large_total(path: Path, limits: ZipLimits) -> VectorFileError:
    return VectorFileError(
        f"{path.name}: 压缩包解压后合计超过 {mib(limits.total_bytes)} / the zip expands to more than {mib(limits.total_bytes)} in all",
        "zip_too_large",
    )


def _too_compressed(path: Path, member: str, limits: ZipLimits) -> VectorFileError:
    return VectorFileError(
        f"{path.name}: {member} 压缩比超过 {limits.ratio:g}:1，疑为压缩炸弹 / "
        f"{member} is compressed more than {limits.ratio:g}:1 (a zip bomb?)",
        "zip_ratio",
    )


def _check_members(path: Path, members: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse by what the zip's directory declares: sizes, ratios, encryption."""
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise VectorFileError(
                f"{path.name}: {info.filename} 已加密，请上传未加密的压缩包 / {info.filename} is encrypted: upload an unencrypted zip",
                "zip_encrypted",
            )
        if info.file_size > limits.member_bytes:
            raise _too_large(path, info.filename, limits)
        if info.file_size > limits.ratio_from_bytes and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise _too_compressed(path, info.filename, limits)
        total += info.file_size
    if total > limits.total_bytes:
        raise _too_large_total(path, limits)


def _choose(zf: zipfile.ZipFile, path: Path, layer: str | None) -> tuple[str, list[zipfile.ZipInfo]]:
    """Return the main file to read from a zip and every member it needs (a shapefile's .shx, .dbf, .prj, .cpg)."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    by_name = {i.filename: i for i in infos}
    shps = [n for n in names if n.lower().endswith(".shp")]
    if not shps:
        others = [n for n in names if n.lower().endswith(_VECTOR_IN_ZIP)]
        if len(others) == 1:
            return others[0], [by_name[others[0]]]
        nested = [n for n in names if n.lower().endswith(_ARCHIVES)]
        if nested and not others:
            raise VectorFileError(
                f"{path.name}: 压缩包内还有压缩包（{nested[0]}），请解压后上传其中的文件 / "
                f"the zip holds another archive ({nested[0]}): upload the file inside it",
                "zip_nested",
            )
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
    if (stem + ".dbf").lower() not in lower:
        raise VectorFileError(f"{path.name}: 缺少 {Path(stem).name}.dbf / the shapefile has no .dbf")
    parts = [by_name[lower[(stem + ext).lower()]] for ext in _SHAPEFILE_PARTS if (stem + ext).lower() in lower]
    return shp, parts


def resolve(path: Path, layer: str | None = None, limits: ZipLimits | None = None) -> VectorSource:
    """Work out how to read a trusted file: zipped shapefiles via /vsizip/ (never unpacked), encodings detected."""
    if not path.exists():
        raise VectorFileError(f"文件不存在 / file not found: {path}")
    limits = limits or layer_import_zip_limits()
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with _open_zip(path, limits) as zf:
            main, parts = _choose(zf, path, layer)
            _check_members(path, zf.infolist(), limits)
            if not main.lower().endswith(".shp"):
                return VectorSource(f"/vsizip/{path}/{main}", None, layer)
            dbf = next(p for p in parts if p.filename.lower().endswith(".dbf"))
            cpg = next((p for p in parts if p.filename.lower().endswith(".cpg")), None)
            try:
                with zf.open(dbf) as stream:
                    enc = _dbf_encoding(stream, zf.read(cpg) if cpg else None)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise VectorFileError(f"{path.name}: 不是有效的zip文件 / not a valid zip file ({exc})") from exc
            return VectorSource(f"/vsizip/{path}/{main}", enc, None)
    if suffix == ".shp":
        dbf_path = path.with_suffix(".dbf")
        if not dbf_path.exists():
            dbf_path = path.with_suffix(".DBF")
        if not dbf_path.exists():
            raise VectorFileError(f"{path.name}: 缺少 .dbf 文件 / the shapefile has no .dbf beside it")
        cpg_path = path.with_suffix(".cpg")
        with dbf_path.open("rb") as stream:
            enc = _dbf_encoding(stream, cpg_path.read_bytes() if cpg_path.exists() else None)
        return VectorSource(str(path), enc, None)
    return VectorSource(str(path), None, layer)


def _safe_name(member: str) -> str:
    """Return a member's file name safe to write in our own folder (no folders, no odd characters)."""
    base = re.split(r"[/\\]", member)[-1]
    stem, dot, ext = base.rpartition(".")
    stem = re.sub(r"[^\w\-]", "_", stem if dot else base) or "layer"
    return f"{stem}.{ext.lower()}" if dot and re.fullmatch(r"\w+", ext) else stem


def _unpack(
    zf: zipfile.ZipFile, path: Path, parts: list[zipfile.ZipInfo], dest: Path, limits: ZipLimits
) -> dict[str, Path]:
    """Unpack the members needed into `dest` in a stream, counting what actually comes out against the limits."""
    out: dict[str, Path] = {}
    total = 0
    for info in parts:
        target = dest / _safe_name(info.filename)
        written = 0
        try:
            with zf.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    total += len(chunk)
                    if written > limits.member_bytes:
                        raise _too_large(path, info.filename, limits)
                    if written > limits.ratio_from_bytes and written > limits.ratio * max(info.compress_size, 1):
                        raise _too_compressed(path, info.filename, limits)
                    if total > limits.total_bytes:
                        raise _too_large_total(path, limits)
                    dst.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
            if isinstance(exc, VectorFileError):
                raise
            raise VectorFileError(
                f"{path.name}: {info.filename} 无法解压 / cannot unpack {info.filename} ({exc})"
            ) from exc
        out[info.filename] = target
    return out


@contextmanager
def _unpacked(path: Path, layer: str | None, limits: ZipLimits) -> Iterator[Path]:
    """Yield the path of the file to read from an upload: the upload itself, or what it needs unpacked from its zip."""
    if path.suffix.lower() != ".zip":
        yield path
        return
    with _open_zip(path, limits) as zf:
        main, parts = _choose(zf, path, layer)
        _check_members(path, parts, limits)
        with tempfile.TemporaryDirectory(prefix="landwindow-unzip-") as tmp:
            files = _unpack(zf, path, parts, Path(tmp), limits)
            yield files[main]


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_JSON_STEP = np.zeros(256, np.int8)
_JSON_STEP[[ord("["), ord("{")]] = 1
_JSON_STEP[[ord("]"), ord("}")]] = -1


def json_nesting(data: bytes) -> int:
    """Return how deeply a JSON text nests arrays and objects, without parsing it (brackets inside strings skipped)."""
    bare = _JSON_STRING.sub(b"", data)
    steps = _JSON_STEP[np.frombuffer(bare, np.uint8)]
    steps = steps[steps != 0]
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def too_deep(name: str, limit: int) -> VectorFileError:
    """Return the error of a JSON text nested deeper than the limit."""
    return VectorFileError(
        f"{name}: JSON 嵌套超过上限 {limit} 层 / the JSON nests deeper than the limit of {limit} levels",
        "json_too_deep",
    )


def _inspect_geopackage(path: Path, name: str) -> None:
    """Refuse a GeoPackage whose reading would run a query or code: views, virtual tables (other than the spatial
    index's R*Tree) and generated columns. Read with sqlite3, read-only, no extensions, time-bounded."""
    deadline = time.monotonic() + _GPKG_INSPECT_SECONDS
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise VectorFileError(f"{name}: 无法读取 / cannot read: {exc}") from exc
    try:
        con.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        rows = con.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
        views = [n for t, n, _ in rows if t == "view"]
        if views:
            raise VectorFileError(
                f"{name}: GeoPackage 含视图 {views[0]}（读取时会执行查询），请导出为普通图层 / "
                f"the GeoPackage holds a view ({views[0]}), which runs a query when read: export it as a plain layer",
                "gpkg_view",
            )
        for kind, table, sql in rows:
            if kind != "table":
                continue
            virtual = re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE\s+.*?\bUSING\s+(\w+)", sql, re.I | re.S)
            if virtual and virtual.group(1).lower() != "rtree":
                raise _computed(name, table)
            if not virtual and any(
                col[6] in (2, 3) for col in con.execute(f'PRAGMA table_xinfo("{table.replace(chr(34), chr(34) * 2)}")')
            ):
                raise _computed(name, table)
    except sqlite3.Error as exc:
        raise VectorFileError(f"{name}: 无法读取 / cannot read: {exc}") from exc
    finally:
        con.close()


def _computed(name: str, table: str) -> VectorFileError:
    return VectorFileError(
        f"{name}: GeoPackage 的表 {table} 含计算列或虚拟表（读取时会执行代码），请导出为普通图层 / "
        f"the GeoPackage table {table} has computed columns or is virtual (code runs when it is read): export it as a plain layer",
        "gpkg_computed",
    )


def _reason(exc: Exception, *folders: Path) -> str:
    """GDAL's reason without the server's own folders (an upload's temporary ones): files are named by their names."""
    text = str(exc)
    for folder in folders:
        text = text.replace(f"{folder}/", "")
    return text


def list_layers(path: Path) -> list[str]:
    """Return the layer names of a multi-layer source (GeoPackage)."""
    src = resolve(path)
    try:
        return [str(row[0]) for row in pyogrio.list_layers(src.path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise VectorFileError(f"{path.name}: 无法读取 / cannot read: {_reason(exc, path.parent)}") from exc


def read_vector(path: Path, layer: str | None = None, limits: UploadLimits | None = None) -> gpd.GeoDataFrame:
    """Read an uploaded vector file into a GeoDataFrame within the upload limits; errors as VectorFileError."""
    limits = limits or upload_limits()
    with _unpacked(path, layer, limits.zip) as file:
        suffix = file.suffix.lower()
        if suffix in (".geojson", ".json"):
            depth = json_nesting(file.read_bytes())
            if depth > limits.json_depth:
                raise too_deep(path.name, limits.json_depth)
        if suffix == ".gpkg":
            _inspect_geopackage(file, path.name)
        src = resolve(file, None if file is not path else layer, limits.zip)
        kwargs: dict[str, object] = {}
        if src.encoding:
            kwargs["encoding"] = src.encoding
        if src.layer:
            kwargs["layer"] = src.layer
        try:
            gdf = pyogrio.read_dataframe(src.path, fid_as_index=True, max_features=limits.features + 1, **kwargs)
        except Exception as exc:
            raise VectorFileError(
                f"{path.name}: 无法读取 / cannot read: {_reason(exc, path.parent, file.parent)}"
            ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise VectorFileError(f"{path.name}: 文件中没有几何 / the file has no geometry")
    if len(gdf) > limits.features:
        raise VectorFileError(
            f"{path.name}: 要素超过上限 {limits.features} 个 / the file holds more than {limits.features} features",
            "too_many_parcels",
        )
    return gdf
