"""Point tables (界址点坐标表) as boundary input: CSV or XLSX, with or without a header, projected or in degrees.

Seen in real files: `点号,X,Y` (X the northing, Y with or without the zone prefix, sometimes swapped under the same
labels), `点号,经度,纬度` (decimal or packed degrees), a 地块/宗地号 column for several parcels, a 圈号 column for
rings, and the headerless 农转用 table `序号,地块号,圈号,点号,X,Y`. Rings may or may not repeat their first point.
Which header means which column is data (`point_tables.toml`); rings, zones and areas are the TXT reader's.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import InvalidOperation
from functools import cache
from importlib import resources
from pathlib import PurePath
from typing import Any

from gis.boundary.coords import SurveyPoint, frame_for
from gis.boundary.geometry import finish, too_many_lines
from gis.boundary.mining import unpack_dms
from gis.boundary.model import (
    Boundary,
    BoundaryError,
    BoundaryIssue,
    BoundaryParcel,
    CountyExtent,
    county_extent,
    error,
    warning,
)
from gis.boundary.survey import Corner, group_rings, survey_geometry
from gis.boundary.txt import decode, normalise
from gis.catalog import STORAGE_SRID
from gis.crs import CRSError, epsg_3deg, transformer, zone_3deg
from gis.limits import upload_limits

COORDINATE_ROLES = ("x", "y", "lon", "lat")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d*)?$")
_UNIT = re.compile(r"[(\[{（【].*?[)\]}）】]")
_DMS = re.compile(
    r"^(?P<sign>[-+])?(?P<d>\d+(?:\.\d+)?)\s*[°度]\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|′′|''|秒)?\s*)?[ENen东北]?$"
)


@cache
def table_rules() -> dict[str, Any]:
    """Return the header words, headerless layouts and limits of point tables (gis/boundary/point_tables.toml)."""
    return tomllib.loads(resources.files("gis").joinpath("boundary/point_tables.toml").read_text("utf-8"))


@cache
def _role_of_word() -> dict[str, str]:
    return {word: role for role, words in table_rules()["columns"].items() for word in words}


def _header_word(cell: str) -> str:
    """A header cell as compared with the words: no bracketed unit, no spaces, lower case."""
    return re.sub(r"\s+", "", _UNIT.sub("", cell)).lower()


@dataclass
class _Table:
    """The rows of a table as read: (row number, cells), and where they came from."""

    rows: list[tuple[int, list[str]]]
    fmt: str
    header: dict[str, Any] = field(default_factory=dict)

    def column_name(self, index: int) -> str:
        """Return how a person finds column `index` (0-based): its letter in a sheet, its number in a CSV."""
        if self.fmt != "xlsx":
            return str(index + 1)
        name, n = "", index + 1
        while n:
            n, r = divmod(n - 1, 26)
            name = chr(65 + r) + name
        return name


@dataclass
class _Layout:
    """Which column holds what, and the header text of each as the file wrote it."""

    columns: dict[str, int]
    labels: dict[str, str]
    first_data_row: int
    header_row: int | None

    def label(self, table: _Table, role: str) -> str:
        """Return a column as named in issues: `X (column E)`."""
        return f"{self.labels.get(role, role.upper())} (column {table.column_name(self.columns[role])})"


# --- reading the rows ---


def _bounded_rows(rows: Iterator[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    limit = int(table_rules()["limits"]["max_rows"])
    out: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(out) >= limit:
            raise BoundaryError(
                [error("too_many_rows", f"表格超过 {limit} 行", f"the table has more than {limit} rows", line=number)]
            )
        out.append((number, cells))
    return out


def _csv_rows(data: bytes) -> _Table:
    text, encoding = decode(data)
    limits = upload_limits()
    if max(text.count("\n"), text.count("\r")) >= limits.lines:  # blank lines too: each costs a step
        raise BoundaryError([too_many_lines(limits)])
    raw_lines = text.splitlines()
    for number, line in enumerate(raw_lines, start=1):
        if len(line) > limits.line_chars:
            zh, en = f"该行超过 {limits.line_chars} 个字符", f"the line is longer than {limits.line_chars} characters"
            raise BoundaryError([error("line_too_long", zh, en, line=number)])
    lines = [normalise(line) for line in raw_lines]
    sample = "\n".join([line for line in lines if line][: int(table_rules()["limits"]["header_search_rows"])])
    delimiter = max((",", "\t", ";", "|"), key=sample.count)
    if sample.count(delimiter) == 0:
        delimiter = " "  # corners written as `J1 3306153.250 38523680.500`

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, line in enumerate(lines, start=1):
            if delimiter == " ":
                yield number, line.split()
            else:
                yield number, [c.strip() for c in next(csv.reader([line], delimiter=delimiter), [])]

    return _Table(_bounded_rows(rows()), "csv", {"_encoding": encoding})


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return normalise(str(v))


def _xlsx_rows(data: bytes) -> _Table:
    import openpyxl

    limits = table_rules()["limits"]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            expanded = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise BoundaryError([error("unreadable", "不是有效的 XLSX 文件", "not a valid XLSX file")]) from exc
    if expanded > int(limits["xlsx_max_expanded_bytes"]):
        raise BoundaryError(
            [
                error(
                    "too_large",
                    f"XLSX 解压后 {expanded} 字节，超过上限",
                    f"the XLSX expands to {expanded} bytes, over the limit",
                )
            ]
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a malformed workbook
        raise BoundaryError([error("unreadable", f"XLSX 无法读取：{exc}", f"the XLSX cannot be read: {exc}")]) from exc
    try:
        sheets = book.worksheets
        if not sheets:
            raise BoundaryError([error("no_parcels", "XLSX 中没有工作表", "the XLSX has no sheet")])
        sheet = next((s for s in sheets if any(w in s.title for w in limits["sheet_words"])), sheets[0])
        sheet.reset_dimensions()  # some writers state a wrong <dimension>: read every row there is
        rows = (
            (number, [_cell_text(v) for v in values])
            # a cell far to the right (column XFD) would pad every row to 16 384 cells: only the first columns are read
            for number, values in enumerate(
                sheet.iter_rows(values_only=True, max_col=int(limits["max_columns"])), start=1
            )
        )
        return _Table(_bounded_rows(rows), "xlsx", {"sheet": sheet.title})
    finally:
        book.close()


# --- the layout: a header row, or a headerless table by its width ---


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.replace(" ", "")))


def _layout(table: _Table) -> _Layout:
    rules = table_rules()
    words = _role_of_word()
    for k, (number, cells) in enumerate(table.rows[: int(rules["limits"]["header_search_rows"])]):
        columns: dict[str, int] = {}
        labels: dict[str, str] = {}
        for i, cell in enumerate(cells):
            word = _header_word(cell)
            # `经度度分秒`, `纬度dms`: the unit written after the word without a bracket
            role = words.get(word) or next((words[w] for w in ("经度", "纬度") if word.startswith(w)), None)
            if role is not None and role not in columns:
                columns[role] = i
                labels[role] = cell
        if {"x", "y"} <= columns.keys() or {"lon", "lat"} <= columns.keys():
            if {"x", "y"} <= columns.keys():
                # survey coordinates win over degrees derived from them
                columns.pop("lon", None)
                columns.pop("lat", None)
            table.header["title"] = [" ".join(c for c in cells if c) for _, cells in table.rows[:k]]
            return _Layout(columns, labels, k + 1, number)
    number, cells = table.rows[0]
    layout = rules["headerless"].get(str(len(cells)))
    if layout is not None and _is_number(cells[-1]) and _is_number(cells[-2]):
        return _Layout({role: i for i, role in enumerate(layout)}, {}, 0, None)
    shown = ", ".join(c for c in cells if c)[:80]
    raise BoundaryError(
        [
            error(
                "no_header",
                f"找不到表头（应有 点号、X、Y 或 经度、纬度 列），也不是 {'/'.join(rules['headerless'])} 列的无表头坐标表；第{number}行为：{shown}",
                f"no header found (columns 点号, X, Y or 经度, 纬度), nor a headerless table of {'/'.join(rules['headerless'])} columns; "
                f"row {number} reads: {shown}",
                line=number,
            )
        ]
    )


# --- the rows to corners ---


@dataclass
class _Row:
    number: int
    parcel: str
    ring: str
    point: str
    a: str
    """The first coordinate: X (northing) or longitude."""
    b: str
    """The second coordinate: Y (easting) or latitude."""
    name: str = ""


def _cell(cells: list[str], layout: _Layout, role: str) -> str:
    i = layout.columns.get(role)
    return cells[i] if i is not None and i < len(cells) else ""


def _rows(table: _Table, layout: _Layout, issues: list[BoundaryIssue]) -> list[_Row]:
    degrees = "lon" in layout.columns
    a_role, b_role = ("lon", "lat") if degrees else ("x", "y")
    out: list[_Row] = []
    parcel, ring, name = "", "1", ""
    for number, cells in table.rows[layout.first_data_row :]:
        a, b = _cell(cells, layout, a_role), _cell(cells, layout, b_role)
        if not a and not b and not _cell(cells, layout, "point"):
            # a caption or a footer (制表：…, 合计): no corner there; a corner without coordinates is an error below
            issues.append(
                warning(
                    "row_skipped",
                    f"第{number}行没有坐标，已跳过：{' '.join(cells)[:40]}",
                    f"row {number} has no coordinates and was skipped: {' '.join(cells)[:40]}",
                    line=number,
                )
            )
            continue
        missing = [role for role, value in ((a_role, a), (b_role, b)) if not value]
        for role in missing:
            column = layout.label(table, role)
            issues.append(error("missing_value", f"{column}为空", f"{column} is empty", line=number, field=column))
        # merged cells in a sheet leave the 地块号 and 圈号 only in their first row: carry them down
        parcel = _cell(cells, layout, "parcel") or parcel
        ring = _cell(cells, layout, "ring") or ring
        name = _cell(cells, layout, "name") or name
        point = _cell(cells, layout, "point") or _cell(cells, layout, "seq")
        if not missing:
            out.append(_Row(number, parcel, ring, point, a, b, name))
    return out


def _number(
    row: _Row, value: str, role: str, table: _Table, layout: _Layout, issues: list[BoundaryIssue]
) -> float | None:
    text = value.replace(" ", "")
    if _NUMBER.match(text):
        return float(text)
    issues.append(
        error(
            "bad_number",
            f"{layout.label(table, role)}不是数字：{value!r}",
            f"{layout.label(table, role)} is not a number: {value!r}",
            line=row.number,
            field=layout.label(table, role),
        )
    )
    return None


def _degrees(
    row: _Row, value: str, role: str, packed: bool, table: _Table, layout: _Layout, issues: list[BoundaryIssue]
) -> float | None:
    """Read a longitude or latitude: decimal, packed `ddd.mmss`, or written with ° ′ ″ / 度 分 秒."""
    text = value.replace(" ", "")
    try:
        m = _DMS.match(text)
        if m:
            d, mi, s = float(m["d"]), float(m["m"] or 0), float(m["s"] or 0)
            if mi >= 60 or s >= 60:
                raise ValueError(f"{value}: minutes or seconds ≥ 60")
            return (-1 if m["sign"] == "-" else 1) * (d + mi / 60 + s / 3600)
        if not _NUMBER.match(text):
            raise ValueError(repr(value))
        degrees = unpack_dms(text) if packed else float(text)
        if abs(degrees) > 180:
            raise ValueError(f"{value!r} > 180°")
        return degrees
    except (ValueError, InvalidOperation) as exc:
        issues.append(
            error(
                "bad_number",
                f"{layout.label(table, role)}不是经纬度：{exc}",
                f"{layout.label(table, role)} is not a degree value: {exc}",
                line=row.number,
                field=layout.label(table, role),
            )
        )
        return None


def _county_zone(extent: CountyExtent) -> int | None:
    """Return the 3° zone the whole county lies in, if one does."""
    west, east = zone_3deg(extent.lon_min), zone_3deg(extent.lon_max)
    return west if west == east else None


def _by_parcel(
    rows: list[_Row], values: list[tuple[float, float]]
) -> dict[str, list[tuple[_Row, tuple[float, float]]]]:
    parcels: dict[str, list[tuple[_Row, tuple[float, float]]]] = {}
    for row, v in zip(rows, values, strict=True):
        parcels.setdefault(row.parcel, []).append((row, v))
    return parcels


def _with_columns(issues: list[BoundaryIssue], table: _Table, layout: _Layout) -> list[BoundaryIssue]:
    """Name the table's columns in the issues the shared readers word as `X` / `Y`."""
    names = {"X": "x", "Y": "y"}
    return [
        replace(i, field=layout.label(table, names[i.field]))
        if i.field in names and names[i.field] in layout.columns
        else i
        for i in issues
    ]


def read_point_table(
    data: bytes, filename: str, zone: int | None = None, extent: CountyExtent | None = None
) -> Boundary:
    """Read a CSV or XLSX point table as a boundary; every error names its row and column."""
    fmt = "xlsx" if data[:4] == b"PK\x03\x04" else "csv"
    table = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    if not table.rows:
        raise BoundaryError([error("empty_file", "表格为空", "the table is empty")])
    layout = _layout(table)
    issues: list[BoundaryIssue] = []
    rows = _rows(table, layout, issues)
    if not rows and not [i for i in issues if i.severity == "error"]:
        issues.append(error("no_parcels", "表格中没有界址点坐标", "the table holds no corner coordinates"))
    extent = extent or county_extent()
    degrees = "lon" in layout.columns or _all_degrees(rows)
    if degrees:
        values, src, crs_label, form, stated = _degree_corners(rows, table, layout, issues)
        frame_zone: int | None = None
    else:
        values, src, crs_label, form, stated = _projected_corners(rows, table, layout, issues, zone, extent)
        frame_zone = stated
    if any(i.severity == "error" for i in issues):
        raise BoundaryError(sorted(issues, key=lambda i: i.line or 0))
    stem = PurePath(filename).stem or "1"
    parcels: list[BoundaryParcel] = []
    errors: list[BoundaryIssue] = []
    for parcel_key, corners in _by_parcel(rows, values).items():
        parcel_no = parcel_key or stem
        first = corners[0][0]
        rings = group_rings(Corner(r.point, r.ring, en, r.number) for r, en in corners)
        geom, parcel_issues = survey_geometry(
            rings, src, extent, frame_zone, 3, parcel_no, first.number, must_be_closed=False
        )
        parcel_issues = _with_columns(parcel_issues, table, layout)
        if geom is not None:
            parcel, finish_issues = finish(
                geom,
                src,
                parcel_no,
                first.name,
                extent=extent,
                line=first.number,
                attributes={"rows": [corners[0][0].number, corners[-1][0].number]},
            )
            parcel_issues += finish_issues
            if parcel is not None:
                parcel.warnings = [i for i in parcel_issues if i.severity == "warning"]
                parcels.append(parcel)
        errors += [i for i in parcel_issues if i.severity == "error"]
    if errors:
        raise BoundaryError([*issues, *errors])
    header = {
        **table.header,
        "layout": "header" if layout.header_row else f"headerless {len(table.rows[0][1])} columns",
        "header_row": layout.header_row,
        "columns": {role: layout.label(table, role) for role in layout.columns},
        "coordinates": form,
    }
    return Boundary(parcels, fmt, crs_label, parcels[0].zone if parcels else (stated or 0), header, issues)


def _all_degrees(rows: list[_Row]) -> bool:
    """Return whether the X/Y columns hold degrees (every value under 400) rather than metres."""
    try:
        return bool(rows) and all(abs(float(r.a)) < 400 and abs(float(r.b)) < 400 for r in rows)
    except ValueError:
        return False


def _projected_corners(
    rows: list[_Row],
    table: _Table,
    layout: _Layout,
    issues: list[BoundaryIssue],
    zone: int | None,
    extent: CountyExtent,
) -> tuple[list[tuple[float, float]], int, str, str, int]:
    points: list[SurveyPoint] = []
    for r in rows:
        x, y = _number(r, r.a, "x", table, layout, issues), _number(r, r.b, "y", table, layout, issues)
        if x is not None and y is not None:
            points.append(SurveyPoint(x, y, r.number))
    if any(i.severity == "error" for i in issues):
        raise BoundaryError(sorted(issues, key=lambda i: i.line or 0))
    try:
        frame, frame_issues = frame_for(points, None, zone, 3, _county_zone(extent))
    except BoundaryError as exc:
        raise BoundaryError([*issues, *_with_columns(exc.issues, table, layout)]) from exc
    issues += _with_columns(frame_issues, table, layout)
    return [frame.en(p) for p in points], frame.epsg, f"EPSG:{frame.epsg}", "projected", frame.zone


def _degree_corners(
    rows: list[_Row], table: _Table, layout: _Layout, issues: list[BoundaryIssue]
) -> tuple[list[tuple[float, float]], int, str, str, int]:
    roles = ("lon", "lat") if "lon" in layout.columns else ("x", "y")
    packed_words = table_rules()["packed_dms_words"]
    packed = any(w in layout.labels.get(role, "").lower() for role in roles for w in packed_words)
    lonlat: list[tuple[float, float]] = []
    for r in rows:
        a = _degrees(r, r.a, roles[0], packed, table, layout, issues)
        b = _degrees(r, r.b, roles[1], packed, table, layout, issues)
        if a is not None and b is not None:
            lonlat.append((a, b))
    if any(i.severity == "error" for i in issues):
        raise BoundaryError(sorted(issues, key=lambda i: i.line or 0))
    # in China every longitude (73–135°E) is larger than every latitude (3–54°N): the larger column is the longitude
    if statistics.median(a for a, _ in lonlat) < statistics.median(b for _, b in lonlat):
        lonlat = [(b, a) for a, b in lonlat]
        if roles == ("lon", "lat"):
            issues.append(
                warning(
                    "lonlat_swapped",
                    f"{layout.label(table, 'lon')}与{layout.label(table, 'lat')}的数值疑似颠倒，已按交换后处理，请核实",
                    f"{layout.label(table, 'lon')} and {layout.label(table, 'lat')} look swapped (the longitude is the larger); "
                    "read them swapped — please verify",
                    line=rows[0].number,
                )
            )
    if roles == ("x", "y"):
        issues.append(
            warning(
                "degrees_in_xy",
                f"{layout.label(table, 'x')}、{layout.label(table, 'y')}为经纬度，按数值大小取经度、纬度",
                f"{layout.label(table, 'x')} and {layout.label(table, 'y')} hold degrees: longitude and latitude told apart by size",
                line=rows[0].number,
            )
        )
    # rings are cleaned in metres: project them into the 3° zone of the first corner
    try:
        gk_zone = zone_3deg(lonlat[0][0])
        src = epsg_3deg(gk_zone)
    except CRSError as exc:
        zh, _, en = str(exc).partition(" / ")
        raise BoundaryError([*issues, error("zone_out_of_range", zh, en or zh, line=rows[0].number)]) from exc
    to_gk = transformer(STORAGE_SRID, src)
    return (
        [to_gk.transform(lon, lat) for lon, lat in lonlat],
        src,
        f"EPSG:{STORAGE_SRID}",
        "packed dms" if packed else "degrees",
        gk_zone,
    )


def looks_like_table(text: str) -> bool:
    """Return whether a text file is a point table: a header naming coordinate columns, or rows of one width."""
    lines = [normalise(line) for line in text.splitlines()[:50]]
    lines = [line for line in lines if line]
    if not lines:
        return False
    words = _role_of_word()
    for line in lines[: int(table_rules()["limits"]["header_search_rows"])]:
        roles = {words.get(_header_word(c)) for c in re.split(r"[,\t;|]", line)}
        if {"x", "y"} <= roles or {"lon", "lat"} <= roles:
            return True
    widths = {line.count(",") + 1 for line in lines}
    return len(lines) >= 3 and len(widths) == 1 and str(widths.pop()) in table_rules()["headerless"]
