"""Survey coordinates: X is northing, Y is easting with or without the zone prefix; work out the zone and CRS."""

from __future__ import annotations

from dataclasses import dataclass

from gis.boundary.model import BoundaryError, BoundaryIssue, error, warning
from gis.crs import CRSError, epsg_3deg, epsg_6deg


@dataclass
class SurveyPoint:
    """A point as a surveyor writes it: X (northing), Y (easting), and the file line."""

    x: float
    y: float
    line: int | None = None


def _int_digits(v: float) -> int:
    return len(str(int(abs(v))))


@dataclass
class ProjectedFrame:
    """How a file's survey coordinates map to a CRS: the EPSG of the prefixed zone and the easting offset."""

    epsg: int
    zone: int
    zone_width: int
    offset: float
    swapped: bool
    prefixed: bool

    def en(self, p: SurveyPoint) -> tuple[float, float]:
        """Return (easting with zone prefix, northing) of a survey point."""
        x, y = (p.y, p.x) if self.swapped else (p.x, p.y)
        return y + self.offset, x


def frame_for(
    points: list[SurveyPoint],
    header_zone: int | None,
    zone_arg: int | None,
    zone_width: int,
    county_zone: int | None = None,
) -> tuple[ProjectedFrame, list[BoundaryIssue]]:
    """Detect swapped axes, the zone (prefix, header 带号, the caller, else the county's zone) and cross-check them."""
    issues: list[BoundaryIssue] = []
    if not points:
        raise BoundaryError([error("no_points", "文件中没有界址点", "the file has no boundary points")])
    xd = sorted(_int_digits(p.x) for p in points)[len(points) // 2]
    yd = sorted(_int_digits(p.y) for p in points)[len(points) // 2]
    swapped = False
    if xd in (6, 8) and yd == 7:
        swapped = True
        xd, yd = yd, xd
        issues.append(warning("xy_swapped", "X、Y 坐标疑似颠倒（X应为7位整数的北坐标），已按交换后处理，请核实",
                              "X and Y look swapped (X is the 7-digit northing); read them swapped — please verify", line=points[0].line))  # fmt: skip
    if xd != 7:
        raise BoundaryError([*issues, error("bad_northing", f"X（北坐标）应为7位整数，实为{xd}位", f"X (northing) must have 7 integer digits, not {xd}",
                                            line=points[0].line, field="X")])  # fmt: skip
    ys = [(p.x if swapped else p.y) for p in points]
    if yd == 8:
        zones = {int(v // 1_000_000) for v in ys}
        if len(zones) > 1:
            raise BoundaryError([*issues, error("mixed_zones", f"Y坐标带号不一致：{sorted(zones)}", f"the Y zone prefixes differ: {sorted(zones)}",
                                                field="Y")])  # fmt: skip
        zone = zones.pop()
        if header_zone is not None and header_zone != zone:
            raise BoundaryError([*issues, error("zone_mismatch", f"文件头带号 {header_zone} 与Y坐标带号 {zone} 不一致",
                                                f"the header zone {header_zone} differs from the Y prefix zone {zone}", field="带号")])  # fmt: skip
        if zone_arg is not None and zone_arg != zone:
            raise BoundaryError([*issues, error("zone_mismatch", f"指定带号 {zone_arg} 与Y坐标带号 {zone} 不一致",
                                                f"the given zone {zone_arg} differs from the Y prefix zone {zone}", field="带号")])  # fmt: skip
        offset, prefixed = 0.0, True
    elif yd == 6:
        zone_opt = zone_arg if zone_arg is not None else header_zone
        if zone_opt is None and county_zone is not None:
            zone_opt = county_zone
            issues.append(
                warning(
                    "zone_from_county",
                    f"Y坐标不带带号，按本县所在的第{county_zone}带处理",
                    f"Y has no zone prefix: read in the county's zone {county_zone}",
                    field="Y",
                    line=points[0].line,
                )
            )
        if zone_opt is None:
            raise BoundaryError([*issues, error("zone_unknown", "Y坐标不带带号且文件头无带号，请指定带号（--zone）",
                                                "Y has no zone prefix and the header gives no zone; give the zone (--zone)", field="带号")])  # fmt: skip
        zone = zone_opt
        offset, prefixed = zone * 1_000_000.0, False
    else:
        raise BoundaryError([*issues, error("bad_easting", f"Y（东坐标）应为6位或带带号的8位整数，实为{yd}位",
                                            f"Y (easting) must have 6 integer digits, or 8 with the zone prefix, not {yd}", field="Y",
                                            line=points[0].line)])  # fmt: skip
    try:
        epsg = epsg_6deg(zone) if zone_width == 6 else epsg_3deg(zone)
    except CRSError as exc:
        zh, _, en = str(exc).partition(" / ")
        raise BoundaryError([*issues, error("zone_out_of_range", zh, en or zh, field="带号")]) from exc
    return ProjectedFrame(epsg, zone, zone_width, offset, swapped, prefixed), issues
