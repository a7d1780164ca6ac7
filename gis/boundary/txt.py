"""界址点坐标交换格式 (the construction-land approval TXT): a lenient reader and an exact writer."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from gis.boundary.coords import ProjectedFrame, SurveyPoint, frame_for
from gis.boundary.geometry import as_multipolygon, finish, too_many_lines, too_many_parcels, too_many_points
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
from gis.boundary.survey import Corner, group_rings, survey_geometry
from gis.catalog import STORAGE_SRID
from gis.crs import epsg_3deg, reproject
from gis.limits import upload_limits

ATTRIBUTES = "属性描述"
COORDINATES = "地块坐标"
# header key → the name used here (real files vary)
HEADER_ALIASES = {"分带": "几度分带", "带宽": "几度分带", "投影带号": "带号", "中央子午线": "中央经线"}
PARCEL_FIELDS = ("界址点数", "地块面积", "地块编号", "地块名称", "图形属性", "图幅号", "地块用途", "地类编码")
AREA_TOLERANCE = float(validation_rules()["area_tolerance"])
_NUMBER = re.compile(r"^[-+]?\d+(\.\d*)?$")


def decode(data: bytes) -> tuple[str, str]:
    """Decode a TXT file: UTF-8 (with or without BOM) or GBK/GB18030; return (text, encoding)."""
    if not data.strip():
        raise BoundaryError([error("empty_file", "文件为空", "the file is empty")])
    if b"\x00" in data[:4096]:
        raise BoundaryError([error("not_text", "不是文本文件（含二进制内容）", "not a text file (binary content)")])
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise BoundaryError(
            [error("encoding", "无法识别文件编码（应为UTF-8或GBK）", "cannot decode the file (expected UTF-8 or GBK)")]
        ) from exc


def normalise(line: str) -> str:
    """Full-width punctuation and digits to ASCII (，→, ．→. １→1), whitespace trimmed."""
    return unicodedata.normalize("NFKC", line).replace("\u3000", " ").strip()


@dataclass
class _Parcel:
    fields: list[str]
    line: int
    points: list[tuple[str, str, SurveyPoint]] = field(default_factory=list)  # (点号, 圈号, point)


def _zone_width(value: str | None) -> int:
    if not value:
        return 3
    m = re.search(r"\d+", value)
    return 6 if m and int(m.group()) == 6 else 3


def _datum(header: dict[str, str]) -> str:
    crs = header.get("坐标系", "")
    if "80" in crs or "西安" in crs:
        return "xian80"
    if "54" in crs or "北京" in crs:
        return "beijing54"
    return "cgcs2000"


def _seven_parameters(header: dict[str, str]) -> list[float] | None:
    raw = header.get("转换参数", "")
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) < 7 or any(p == "" for p in parts[:7]):
        return None
    try:
        return [float(p) for p in parts[:7]]
    except ValueError:
        return None


_ELLIPSOIDS = {"xian80": "+ellps=IAU76", "beijing54": "+ellps=krass"}
"""Xian 1980 uses the IAG 1975 ellipsoid (PROJ IAU76, a = 6378140, 1/f = 298.257); Beijing 1954 Krassowsky."""


def datum_crs(datum: str, frame: ProjectedFrame, params: list[float]) -> str:
    """Return the PROJ string of the file's zone on an old datum with its seven parameters (towgs84).

    The projection is that of EPSG:2324+zone (Xian 1980 3° GK, prefixed) or EPSG:2376+zone (Beijing 1954), or the 6°
    equivalents; the seven Bursa-Wolf parameters (dx, dy, dz in m, rx, ry, rz in arc-seconds, scale in ppm, position
    vector convention as PROJ's +towgs84) take it to WGS 84, which CGCS2000 matches to centimetres.
    """
    cm = 3 * frame.zone if frame.zone_width == 3 else 6 * frame.zone - 3
    towgs = ",".join(f"{v:g}" for v in params)
    return (f"+proj=tmerc +lat_0=0 +lon_0={cm} +k=1 +x_0={frame.zone * 1_000_000 + 500_000} +y_0=0 "
            f"{_ELLIPSOIDS[datum]} +towgs84={towgs} +units=m +no_defs +type=crs")  # fmt: skip


def read_txt(data: bytes, zone: int | None = None, extent: CountyExtent | None = None) -> Boundary:
    """Read a 界址点坐标交换格式 file; raise BoundaryError listing every error with its line."""
    text, encoding = decode(data)
    limits = upload_limits()
    if max(text.count("\n"), text.count("\r")) >= limits.lines:
        raise BoundaryError([too_many_lines(limits)])
    issues: list[BoundaryIssue] = []
    header: dict[str, Any] = {"_encoding": encoding}
    sections: dict[str, dict[str, str]] = {}
    section: str | None = None
    parcels: list[_Parcel] = []
    n_points = n_header = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if len(issues) >= limits.errors:
            break  # enough to go on with: a file of garbage is not listed line by line
        if len(raw) > limits.line_chars:
            zh, en = f"该行超过 {limits.line_chars} 个字符", f"the line is longer than {limits.line_chars} characters"
            issues.append(error("line_too_long", zh, en, line=lineno))
            break
        line = normalise(raw)
        if not line:
            continue
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            section = m.group(1).strip()
            sections.setdefault(section, {})
            continue
        if section is None:
            issues.append(
                error(
                    "no_section",
                    "文件应以 [属性描述] 或 [地块坐标] 开头",
                    "the file must start with a [属性描述] or [地块坐标] section",
                    line=lineno,
                )
            )
            break
        if section != COORDINATES:
            n_header += 1
            if n_header > limits.header_lines:
                zh, en = f"文件头超过 {limits.header_lines} 行", f"the header has more than {limits.header_lines} lines"
                issues.append(error("too_many_header_lines", zh, en, line=lineno))
                break
            if "=" in line:
                key, value = (s.strip() for s in line.split("=", 1))
                sections[section][HEADER_ALIASES.get(key, key)] = value
            continue
        fields = [f.strip() for f in line.split(",")]
        if fields[-1] == "@" or line.endswith("@"):
            if len(parcels) == limits.features:
                issues.append(too_many_parcels(limits, lineno))
                break
            parcels.append(_Parcel([f for f in fields if f != "@"], lineno))
            continue
        if len(fields) < 4:
            issues.append(
                error("unrecognised_line", f"无法识别的行：{line[:40]}", f"unrecognised line: {line[:40]}", line=lineno)
            )
            continue
        if not parcels:
            issues.append(
                error(
                    "point_before_parcel",
                    "界址点前缺少地块属性行（以@结尾）",
                    "a point comes before any parcel line (ending in @)",
                    line=lineno,
                )
            )
            continue
        bad = [(name, v) for name, v in (("X", fields[2]), ("Y", fields[3])) if not _NUMBER.match(v)]
        if bad:
            for name, v in bad:
                issues.append(
                    error(
                        "bad_number",
                        f"{name}坐标不是数字：{v!r}",
                        f"{name} is not a number: {v!r}",
                        line=lineno,
                        field=name,
                    )
                )
            continue
        n_points += 1
        if n_points > limits.points:
            issues.append(too_many_points(limits, lineno))
            break
        parcels[-1].points.append(
            (fields[0], fields[1] or "1", SurveyPoint(float(fields[2]), float(fields[3]), lineno))
        )
    attrs = sections.get(ATTRIBUTES, {})
    header.update(attrs)
    for name, values in sections.items():
        if name not in (ATTRIBUTES, COORDINATES):
            header[name] = values
    if not parcels and not issues:
        issues.append(
            error(
                "no_parcels",
                "文件中没有地块（[地块坐标] 段为空或缺失）",
                "the file holds no parcel ([地块坐标] missing or empty)",
            )
        )
    for p in parcels:
        if not p.points:
            issues.append(
                error(
                    "empty_parcel",
                    "地块没有界址点",
                    "the parcel has no points",
                    line=p.line,
                    parcel_no=_field(p.fields, 2),
                )
            )
    if issues:
        raise BoundaryError(issues)

    datum = _datum(attrs)
    header_zone = None
    if attrs.get("带号"):
        try:
            header_zone = int(float(attrs["带号"]))
        except ValueError:
            issues.append(
                warning(
                    "bad_header",
                    f"带号不是数字：{attrs['带号']!r}",
                    f"the zone is not a number: {attrs['带号']!r}",
                    field="带号",
                )
            )
    frame, frame_issues = frame_for(
        [pt for p in parcels for _, _, pt in p.points], header_zone, zone, _zone_width(attrs.get("几度分带"))
    )
    issues += frame_issues
    src: int | str = frame.epsg
    if datum != "cgcs2000":
        params = _seven_parameters(attrs)
        label = "1980西安坐标系" if datum == "xian80" else "1954北京坐标系"
        if params is None:
            raise BoundaryError([*issues, error(
                "datum_needs_parameters", f"坐标系为{label}，须在“转换参数”中给出七参数才能转换到2000国家大地坐标系",
                f"the file uses {label}; seven transformation parameters (转换参数) are needed to convert it to CGCS2000",
                field="坐标系",
            )])  # fmt: skip
        src = datum_crs(datum, frame, params)
        issues.append(
            warning(
                "datum_converted",
                f"已用七参数由{label}转换到CGCS2000",
                f"converted from {label} to CGCS2000 with the seven parameters",
            )
        )

    out: list[BoundaryParcel] = []
    errors: list[BoundaryIssue] = []
    for p in parcels:
        parcel, parcel_issues = _parcel(p, frame, src, extent)
        errors += [i for i in parcel_issues if i.severity == "error"]
        if parcel is not None:
            out.append(parcel)
    if errors:
        raise BoundaryError([*issues, *errors])
    crs_label = f"EPSG:{frame.epsg}" if datum == "cgcs2000" else str(src)
    return Boundary(out, "txt", crs_label, out[0].zone if out else frame.zone, header, issues)


def _field(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""


def _parcel(
    p: _Parcel, frame: ProjectedFrame, src: int | str, extent: CountyExtent | None
) -> tuple[BoundaryParcel | None, list[BoundaryIssue]]:
    parcel_no = _field(p.fields, 2) or f"#{p.line}"
    rings = group_rings(Corner(no, label, frame.en(pt), pt.line) for no, label, pt in p.points)
    geom, issues = survey_geometry(
        rings, src, extent, frame.zone, frame.zone_width, parcel_no, p.line, must_be_closed=True
    )
    if geom is None:
        return None, issues
    if isinstance(src, str):
        # PROJ applies +towgs84 only towards WGS 84; CGCS2000 and WGS 84 agree to centimetres, so take it as 4490
        geom = MultiPolygon(list(reproject(geom, src, "EPSG:4326").geoms))  # type: ignore[attr-defined]
        src = STORAGE_SRID
    declared_area = _float(_field(p.fields, 1))
    declared_points = _int(_field(p.fields, 0))
    if _field(p.fields, 4) and _field(p.fields, 4) not in ("面", "polygon"):
        issues.append(warning("not_polygon_attribute", f"图形属性为“{_field(p.fields, 4)}”，按面处理", f"graphic type {_field(p.fields, 4)!r} read as a polygon",
                              line=p.line, parcel_no=parcel_no))  # fmt: skip
    parcel, finish_issues = finish(
        geom, src, parcel_no, _field(p.fields, 3), extent=extent, line=p.line,
        declared_area_ha=declared_area, declared_points=declared_points,
        landuse_code=_field(p.fields, 7) or None, use=_field(p.fields, 6) or None,
        attributes={"图幅号": _field(p.fields, 5), "extra": p.fields[8:]},
    )  # fmt: skip
    issues += finish_issues
    if parcel is None:
        return None, issues
    if (
        declared_area is not None
        and declared_area > 0
        and abs(parcel.area_m2 - declared_area) <= AREA_TOLERANCE * parcel.area_m2
    ):
        issues.append(
            warning(
                "declared_area_in_m2",
                f"申报面积 {declared_area:g} 恰为计算面积 {parcel.area_ha:.4f} 公顷的一万倍，似以平方米填写（应为公顷）",
                f"the declared area {declared_area:g} is 10⁴ × the computed {parcel.area_ha:.4f} ha: it looks like m², not hectares",
                line=p.line,
                field="地块面积",
                parcel_no=parcel_no,
            )
        )
    elif (
        declared_area is not None
        and declared_area > 0
        and abs(parcel.area_ha - declared_area) > AREA_TOLERANCE * declared_area
    ):
        issues.append(warning(
            "area_mismatch", f"申报面积 {declared_area:.4f} 公顷与计算面积 {parcel.area_ha:.4f} 公顷相差超过1%",
            f"declared area {declared_area:.4f} ha differs from the computed {parcel.area_ha:.4f} ha by more than 1 %",
            line=p.line, field="地块面积", parcel_no=parcel_no,
        ))  # fmt: skip
    distinct = sum(len(r.points) - (1 if len(r.points) > 1 and r.points[0] == r.points[-1] else 0) for r in rings)
    if declared_points is not None and declared_points not in (len(p.points), distinct):
        # files count either every point line (closing points included) or the distinct corners: accept both
        issues.append(warning(
            "point_count_mismatch", f"申报界址点数 {declared_points} 与实际 {len(p.points)}（不含闭合点 {distinct}）不符",
            f"declared point count {declared_points} differs from the {len(p.points)} point lines ({distinct} without closing points)",
            line=p.line, field="界址点数", parcel_no=parcel_no,
        ))  # fmt: skip
    parcel.warnings = [i for i in issues if i.severity == "warning"]
    return parcel, issues


def _float(v: str) -> float | None:
    try:
        return float(v) if v else None
    except ValueError:
        return None


def _int(v: str) -> int | None:
    try:
        return int(float(v)) if v else None
    except ValueError:
        return None


def write_txt(boundary: Boundary, encoding: str = "gbk", unit: str = "土地窗口", on: date | None = None) -> bytes:
    """Write the boundary as a 界址点坐标交换格式 file (closing points repeated, hectares to 4 decimals, @ endings)."""
    on = on or date.today()
    zone = boundary.parcels[0].zone if boundary.parcels else boundary.zone
    lines = [
        "[属性描述]", "格式版本号=1.01", f"数据产生单位={unit}", f"数据产生日期={on.year}-{on.month}-{on.day}",
        "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.001",
        "转换参数=,,,,,,", "[地块坐标]",
    ]  # fmt: skip
    for p in boundary.parcels:
        point_lines = []
        n = 0
        ring_no = 0
        # the file has one 带号: a parcel surveyed in another zone is written in the file's zone
        gk = p.geometry_gk if p.zone == zone else as_multipolygon(reproject(p.geometry, STORAGE_SRID, epsg_3deg(zone)))
        for poly in gk.geoms:
            for ring_coords in _rings(poly):
                ring_no += 1
                first = n + 1
                for x, y in ring_coords[:-1]:
                    n += 1
                    point_lines.append(f"J{n},{ring_no},{y:.3f},{x:.3f}")
                x0, y0 = ring_coords[0]
                point_lines.append(f"J{first},{ring_no},{y0:.3f},{x0:.3f}")
        fields = [
            str(len(point_lines)),
            f"{p.area_ha:.4f}",
            *(field_text(v) for v in (p.parcel_no, p.name, "面", "", p.use, p.landuse_code)),
        ]
        lines.append(",".join(fields) + ",@")
        lines += point_lines
    # GB18030 encodes every character and is byte-identical to GBK wherever GBK has the character
    codec = "gb18030" if encoding.lower().replace("-", "") in ("gbk", "gb2312", "cp936") else encoding
    return ("\r\n".join(lines) + "\r\n").encode(codec)


def field_text(value: str | None) -> str:
    """Return a value safe inside a comma-separated field: no separators, no line breaks."""
    if not value:
        return ""
    return re.sub(r"[\r\n]+", " ", value).replace(",", "、").replace("，", "、").strip()


def _rings(poly: Polygon) -> list[list[tuple[float, ...]]]:
    # survey convention: the outer ring clockwise, holes counter-clockwise
    o = orient(poly, sign=-1.0)
    return [list(o.exterior.coords), *(list(i.coords) for i in o.interiors)]
