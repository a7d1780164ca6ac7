"""Boundary files an applicant brings: read any of them into one `Boundary`, write the Chinese formats back."""

from __future__ import annotations

import tempfile
from pathlib import Path

from gis.boundary.mining import read_mining, write_mining
from gis.boundary.model import (
    Boundary,
    BoundaryError,
    BoundaryIssue,
    BoundaryParcel,
    CountyExtent,
    county_extent,
    error,
)
from gis.boundary.ogr import read_drawn, read_vector_boundary, to_geojson
from gis.boundary.point_table import looks_like_table, read_point_table
from gis.boundary.txt import read_txt, write_txt

VECTOR_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "shapefile",
    ".shp": "shapefile",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".fgb": "flatgeobuf",
}
TABLE_FORMATS = {".csv": "table", ".xlsx": "table", ".xlsm": "table", ".xls": "xls", ".et": "xls"}
TEXT_SUFFIXES = {".txt", ".dat", ""}


def sniff(data: bytes, filename: str) -> str:
    """Return the format of a file from its extension and its first bytes."""
    suffix = Path(filename).suffix.lower()
    if suffix in VECTOR_FORMATS:
        return VECTOR_FORMATS[suffix]
    if suffix in TABLE_FORMATS:
        return TABLE_FORMATS[suffix]
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "geojson"
    if head.startswith(b"PK"):
        return "table" if b"xl/workbook.xml" in data else "shapefile"  # an XLSX is a zip with a workbook part
    if head.startswith(b"<"):
        return "kml"
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if b"[" in head or b"@" in head or "＠".encode() in head:
        return "txt"
    if looks_like_table(
        head.decode("utf-8", errors="ignore") if _is_utf8(head) else head.decode("gb18030", errors="ignore")
    ):
        return "table"
    if head[:1].isdigit():
        return "mining"
    return "txt"


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only the cut at 4096 bytes split a character


def read_boundary_bytes(
    data: bytes, filename: str, zone: int | None = None, extent: CountyExtent | None = None
) -> Boundary:
    """Read an uploaded boundary file; every failure is a BoundaryError with the file's issues."""
    fmt = sniff(data, filename)
    try:
        if fmt == "txt":
            return read_txt(data, zone, extent)
        if fmt == "mining":
            return read_mining(data, zone, extent)
        if fmt == "table":
            return read_point_table(data, filename, zone, extent)
        if fmt == "xls":
            zh = "不支持旧版 Excel（.xls/.et）文件，请另存为 .xlsx 或 .csv"
            en = "old Excel files (.xls/.et) are not supported: save the sheet as .xlsx or .csv"
            raise BoundaryError([error("xls_not_supported", zh, en)])
        if not data:
            raise BoundaryError([error("empty_file", "文件为空", "the file is empty")])
        with tempfile.TemporaryDirectory(prefix="landwindow-upload-") as tmp:
            safe = Path(filename).name or "boundary"
            if Path(safe).suffix.lower() not in VECTOR_FORMATS:
                safe += {"geojson": ".geojson", "shapefile": ".zip", "kml": ".kml", "gpkg": ".gpkg"}.get(fmt, "")
            path = Path(tmp) / safe
            path.write_bytes(data)
            return read_vector_boundary(path, fmt, extent, zone)
    except BoundaryError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted input: whatever a reader trips over is the file's fault
        # a reader tripped over something malformed in a way we did not foresee: still a clean error
        raise BoundaryError([error("unreadable", f"文件无法解析：{exc}", f"the file cannot be parsed: {exc}")]) from exc


def read_boundary(path: Path, zone: int | None = None, extent: CountyExtent | None = None) -> Boundary:
    """Read a boundary file from disk, format detected from its extension and content."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BoundaryError(
            [error("unreadable", f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}")]
        ) from exc
    if path.suffix.lower() == ".shp":  # needs its .dbf, .prj beside it: read in place
        try:
            return read_vector_boundary(path, "shapefile", extent, zone)
        except BoundaryError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise BoundaryError(
                [error("unreadable", f"文件无法解析：{exc}", f"the file cannot be parsed: {exc}")]
            ) from exc
    return read_boundary_bytes(data, path.name, zone, extent)


__all__ = [
    "Boundary", "BoundaryError", "BoundaryIssue", "BoundaryParcel", "CountyExtent", "county_extent",
    "read_boundary", "read_boundary_bytes", "read_drawn", "read_mining", "read_point_table", "read_txt", "sniff",
    "to_geojson",
    "write_mining", "write_txt",
]  # fmt: skip
