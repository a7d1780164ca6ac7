"""Mining-right corner strings (矿业权拐点坐标): projected (northing first) or packed DMS (longitude first)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from gis.boundary.coords import SurveyPoint, frame_for
from gis.boundary.geometry import (
    Ring,
    check_points,
    clean_ring,
    finish,
    too_many_lines,
    too_many_points,
    too_many_ring_points,
    too_many_rings,
)
from gis.boundary.model import Boundary, BoundaryError, BoundaryIssue, CountyExtent, error, validation_rules, warning
from gis.boundary.txt import decode, field_text, normalise
from gis.catalog import STORAGE_SRID
from gis.crs import CRSError, epsg_3deg, transformer, zone_3deg
from gis.limits import upload_limits

EXCLUSION_WORDS = tuple(validation_rules()["mining_exclusion_words"])


def unpack_dms(token: str) -> float:
    """Unpack `ddd.mmss[ss]` (113.1212 = 113°12′12″) to decimal degrees."""
    try:
        d = Decimal(token)
    except InvalidOperation:
        raise ValueError(repr(token)) from None  # the message names the token, not decimal's ConversionSyntax
    if not d.is_finite():
        raise ValueError(repr(token))
    sign = -1 if d < 0 else 1
    whole, frac = str(abs(d)).split(".") if "." in str(abs(d)) else (str(abs(d)), "")
    frac = (frac + "0000")[: max(4, len(frac))]
    minutes, seconds = int(frac[:2]), Decimal(frac[2:4] + "." + frac[4:]) if len(frac) > 4 else Decimal(frac[2:4])
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"{token}: minutes or seconds ≥ 60")
    return sign * (int(whole) + minutes / 60 + float(seconds) / 3600)


def join_lines(text: str) -> str:
    """Join a corner string's lines with commas: a line break separates items like a comma, and a comma at the end of
    a line (or the start of the next) is not an extra, empty item; several line breaks in a row are one.

    Line by line, in linear time (the regular expression this replaces backtracked cubically on a run of blanks).
    """
    lines = re.split(r"\r\n|\n|\r", text.strip())
    last = len(lines) - 1
    items = []
    for k, line in enumerate(lines):
        if not line and 0 < k < last:
            continue  # an empty line between two breaks: the breaks are one
        item = line.strip(" \t")
        if k > 0 and item.startswith(","):
            item = item[1:]
        if k < last and item.endswith(","):
            item = item[:-1]
        items.append(item)
    return ",".join(items)


def read_mining(data: bytes, zone: int | None = None, extent: CountyExtent | None = None) -> Boundary:
    """Read a corner string: `圈数, {点数, (点号,X,Y)×点数, 标高上, 标高下, 备注, 标志}×圈数`."""
    text, _ = decode(data)
    limits = upload_limits()
    # a corner string of R rings and P points has 3P + 5R + 1 items at most, each on a line at most: more is refused
    # before it is split
    items = 3 * limits.points + 5 * limits.parcel_rings
    if max(text.count("\n"), text.count("\r")) > items:
        raise BoundaryError([too_many_lines(limits)])
    text = join_lines(text)
    if text.count(",") + text.count("，") > items:
        raise BoundaryError([too_many_points(limits)])
    tokens = [t.strip() for t in normalise(text).split(",")]
    while tokens and tokens[-1] == "":
        tokens.pop()
    pos = 0

    def take(what: str, zh: str) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise BoundaryError(
                [
                    error(
                        "truncated",
                        f"拐点串在第{pos + 1}项处意外结束（缺少{zh}）",
                        f"the corner string ends early at item {pos + 1} (missing {what})",
                        field=f"item {pos + 1}",
                    )
                ]
            )
        pos += 1
        return tokens[pos - 1]

    def number(what: str, zh: str, integer: bool = False) -> float:
        tok = take(what, zh)
        try:
            value = Decimal(tok)
        except InvalidOperation as exc:
            raise BoundaryError(
                [
                    error(
                        "bad_number",
                        f"第{pos}项（{zh}）不是数字：{tok!r}",
                        f"item {pos} ({what}) is not a number: {tok!r}",
                        field=f"item {pos}",
                    )
                ]
            ) from exc
        if integer and value != value.to_integral_value():
            raise BoundaryError(
                [
                    error(
                        "bad_number",
                        f"第{pos}项（{zh}）应为整数：{tok!r}",
                        f"item {pos} ({what}) must be an integer: {tok!r}",
                        field=f"item {pos}",
                    )
                ]
            )
        return float(value)

    n_rings = int(number("ring count", "圈数", integer=True))
    if not 1 <= n_rings <= 1000:
        raise BoundaryError(
            [
                error(
                    "bad_ring_count", f"圈数 {n_rings} 不合理", f"ring count {n_rings} is not plausible", field="item 1"
                )
            ]
        )
    if n_rings > limits.parcel_rings:
        raise BoundaryError([too_many_rings(n_rings, limits, None, None, field="item 1")])
    n_points = 0
    raw_rings: list[tuple[list[tuple[str, str, str]], float, float, str, int]] = []
    for _ in range(n_rings):
        n_pts = int(number("point count", "点数", integer=True))
        if n_pts < 3:
            raise BoundaryError(
                [
                    error(
                        "too_few_points",
                        f"某圈只有{n_pts}个拐点",
                        f"a ring has only {n_pts} points",
                        field=f"item {pos}",
                    )
                ]
            )
        if n_pts > limits.ring_points:
            raise BoundaryError(
                [too_many_ring_points(n_pts, str(len(raw_rings) + 1), limits, None, None, field=f"item {pos}")]
            )
        n_points += n_pts
        if n_points > limits.points:
            raise BoundaryError([too_many_points(limits, field=f"item {pos}")])
        pts = [(take("point id", "点号"), take("X", "X坐标"), take("Y", "Y坐标")) for _ in range(n_pts)]
        top, bottom = number("top elevation", "标高上"), number("bottom elevation", "标高下")
        remark = take("remark", "备注")
        flag = int(number("flag", "标志", integer=True))
        if flag not in (1, -1):
            raise BoundaryError(
                [
                    error(
                        "bad_flag",
                        f"圈标志应为1或-1，实为{flag}",
                        f"the ring flag must be 1 or -1, not {flag}",
                        field=f"item {pos}",
                    )
                ]
            )
        raw_rings.append((pts, top, bottom, remark, flag))
    if pos != len(tokens):
        raise BoundaryError(
            [
                error(
                    "trailing_items",
                    f"拐点串末尾多出{len(tokens) - pos}项",
                    f"{len(tokens) - pos} extra items after the last ring",
                    field=f"item {pos + 1}",
                )
            ]
        )

    def coord(tok: str, what: str) -> float:
        try:
            return float(Decimal(tok))
        except InvalidOperation as exc:
            raise BoundaryError(
                [error("bad_number", f"{what}坐标不是数字：{tok!r}", f"{what} is not a number: {tok!r}", field=what)]
            ) from exc

    first_x = coord(raw_rings[0][0][0][1], "X")
    issues: list[BoundaryIssue] = []
    rings: list[Ring] = []
    if abs(first_x) < 400:  # packed degrees-minutes-seconds, longitude first
        # rings are checked in metres: project them to the 3° zone of the first corner
        try:
            gk_zone = zone_3deg(unpack_dms(raw_rings[0][0][0][1]))
            src: int | str = epsg_3deg(gk_zone)
        except (ValueError, InvalidOperation, CRSError) as exc:
            raise BoundaryError(
                [error("bad_dms", f"度分秒坐标格式错误：{exc}", f"malformed packed DMS coordinate: {exc}")]
            ) from exc
        to_gk = transformer(STORAGE_SRID, src)
        for pts, _, _, _, flag in raw_rings:
            try:
                lonlat = [(unpack_dms(x), unpack_dms(y)) for _, x, y in pts]
            except (ValueError, InvalidOperation) as exc:
                raise BoundaryError(
                    [error("bad_dms", f"度分秒坐标格式错误：{exc}", f"malformed packed DMS coordinate: {exc}")]
                ) from exc
            rings.append(Ring([to_gk.transform(lon, lat) for lon, lat in lonlat], label=str(len(rings) + 1), flag=flag))
        crs_label, form = f"EPSG:{STORAGE_SRID}", "dms"
        located = check_points(
            [en for r in rings for en in r.points], [None] * sum(len(r.points) for r in rings), src, extent, None
        )
        if located:
            raise BoundaryError(located)
    else:
        survey = [SurveyPoint(coord(x, "X"), coord(y, "Y")) for pts, *_ in raw_rings for _, x, y in pts]
        frame, issues = frame_for(survey, None, zone, 3)
        src = frame.epsg
        it = iter(survey)
        for pts, _, _, _, flag in raw_rings:
            rings.append(Ring([frame.en(next(it)) for _ in pts], label=str(len(rings) + 1), flag=flag))
        crs_label, form = f"EPSG:{frame.epsg}", "projected"
        located = check_points(
            [en for r in rings for en in r.points], [None] * len(survey), src, extent, frame.zone, frame.zone_width
        )
        if located:
            raise BoundaryError([*issues, *located])
    included: list[Polygon] = []
    excluded: list[Polygon] = []
    cleaned: list[tuple[int, Polygon]] = []
    for k, ring in enumerate(rings):
        poly, ring_issues = clean_ring(ring, raw_rings[0][3] or "矿区", must_be_closed=False)
        issues += ring_issues
        if poly is not None:
            (included if ring.flag == 1 else excluded).append(poly)
            cleaned.append((k, poly))
    if any(i.severity == "error" for i in issues):
        raise BoundaryError(issues)
    issues += _doubtful_rings(rings, [remark for _, _, _, remark, _ in raw_rings], cleaned)
    if not included:
        raise BoundaryError([*issues, error("no_included_ring", "没有标志为1的圈", "no ring is flagged 1 (included)")])
    area = shapely.union_all(included)
    if excluded:
        area = shapely.difference(area, shapely.union_all(excluded))
    geom = MultiPolygon([p for p in shapely.get_parts(area) if isinstance(p, Polygon)])
    tops = [t for (_, t, _, _, f) in raw_rings if f == 1]
    bottoms = [b for (_, _, b, _, f) in raw_rings if f == 1]
    name = raw_rings[0][3]
    parcel, finish_issues = finish(
        geom,
        src,
        name or "矿区范围",
        name,
        extent=extent,
        depth_top=max(tops),
        depth_bottom=min(bottoms),
        attributes={"rings": [{"flag": f, "top": t, "bottom": b, "remark": r} for (_, t, b, r, f) in raw_rings]},
    )
    if parcel is None:
        raise BoundaryError([*issues, *finish_issues])
    parcel.warnings = [i for i in issues if i.severity == "warning"]
    header = {
        "圈数": n_rings,
        "coordinates": form,
        "rings": [
            {"flag": f, "标高上": t, "标高下": b, "备注": r, "points": len(pts)} for (pts, t, b, r, f) in raw_rings
        ],
    }
    return Boundary([parcel], "mining", crs_label, parcel.zone, header, [])


def _doubtful_rings(rings: list[Ring], remarks: list[str], cleaned: list[tuple[int, Polygon]]) -> list[BoundaryIssue]:
    """Warn about an included ring whose 备注 says it is cut out, and about an included ring crossing another ring."""
    issues: list[BoundaryIssue] = []
    for k, (ring, remark) in enumerate(zip(rings, remarks, strict=True)):
        word = next((w for w in EXCLUSION_WORDS if w in remark), None)
        if ring.flag == 1 and word is not None:
            issues.append(
                warning(
                    "included_ring_remark_excludes",
                    f"第{k + 1}圈标志为1（包含），但备注“{remark}”含“{word}”：若为扣除范围，标志应为-1，请核实",
                    f"ring {k + 1} is flagged 1 (included) but its remark {remark!r} says {word} (cut out): "
                    "if it is a cut-out, its flag should be -1 — please verify",
                    field=f"ring {k + 1}",
                )
            )
    polys = [p for _, p in cleaned]
    left, right = shapely.STRtree(polys).query(polys, predicate="intersects")
    for i, j in sorted(zip(left.tolist(), right.tolist(), strict=True)):
        (a, pa), (b, pb) = cleaned[i], cleaned[j]
        if i >= j or 1 not in (rings[a].flag, rings[b].flag) or pa.touches(pb):
            continue
        if pa.contains(pb) or pb.contains(pa):
            continue  # a cut-out inside its ring, or a ring inside another: what the flags are for
        overlap = pa.intersection(pb).area
        issues.append(
            warning(
                "rings_cross",
                f"第{a + 1}圈与第{b + 1}圈相交（重叠 {overlap:.2f} 平方米），既不包含也不相离：面积按标志合并与扣除计算，请核实",
                f"ring {a + 1} crosses ring {b + 1} ({overlap:.2f} m² in common), neither inside nor apart: "
                "the area is their union less the cut-outs — please verify",
                field=f"ring {a + 1}",
            )
        )
    return issues


def _pack_dms(v: float) -> str:
    """Pack decimal degrees as `ddd.mmss` with five decimals of seconds (0.00001″ ≈ 0.3 mm)."""
    sign = "-" if v < 0 else ""
    tenths = round(abs(v) * 3600 * 100_000)  # whole units of 0.00001″
    d, rest = divmod(tenths, 3600 * 100_000)
    m, s = divmod(rest, 60 * 100_000)
    return f"{sign}{d}.{m:02d}{s:07d}"


def write_mining(
    boundary: Boundary, dms: bool = False, depth_top: float | None = None, depth_bottom: float | None = None
) -> str:
    """Write the boundary as a corner string: included rings flagged 1, holes -1, rings not closed."""
    parcel = boundary.parcels[0]
    top = depth_top if depth_top is not None else (parcel.depth_top if parcel.depth_top is not None else 0.0)
    bottom = (
        depth_bottom if depth_bottom is not None else (parcel.depth_bottom if parcel.depth_bottom is not None else 0.0)
    )
    geom = parcel.geometry if dms else parcel.geometry_gk
    blocks: list[str] = []
    n = 0
    for poly in geom.geoms:
        o = orient(poly, sign=-1.0)
        for flag, ring in [(1, o.exterior), *((-1, r) for r in o.interiors)]:
            coords = list(ring.coords)[:-1]
            items = [str(len(coords))]
            for x, y in coords:
                n += 1
                items += [str(n), _pack_dms(x), _pack_dms(y)] if dms else [str(n), f"{y:.3f}", f"{x:.3f}"]
            items += [f"{top:g}", f"{bottom:g}", field_text(parcel.name) if flag == 1 else "", str(flag)]
            blocks.append(",".join(items))
    return f"{len(blocks)}," + ",".join(blocks)
