"""Surveyed corners to a parcel's geometry: rings grouped by 圈号 and closure, checked, holes and parts assembled.

Shared by the readers of files that list corners one per line: the 界址点 TXT and the point tables (CSV, XLSX).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shapely.geometry import MultiPolygon

from gis.boundary.geometry import Ring, assemble, check_points, clean_ring, too_many_ring_points, too_many_rings
from gis.boundary.model import BoundaryIssue, CountyExtent
from gis.limits import upload_limits


@dataclass(frozen=True)
class Corner:
    """One corner as a file lists it: its 点号, 圈号, projected (easting, northing) and source line (row)."""

    point_no: str
    ring: str
    en: tuple[float, float]
    line: int | None


def _closes(ring: Ring, first_id: str, first_id_count: int, last_id: str) -> bool:
    """Return whether a ring has come back to its first corner: same coordinates, or the first 点号 again.

    `first_id_count` is how often the first 点号 has come in the ring so far (kept as the ring grows: constant time).
    """
    if len(ring.points) < 4:
        return False
    if ring.points[-1] == ring.points[0]:
        return True
    # the first 点号 repeated, only at the end, with coordinates a rounding away: closed (clean_ring decides whether
    # the gap is allowed)
    return bool(first_id) and last_id == first_id and first_id_count == 2


def group_rings(corners: Iterable[Corner]) -> list[Ring]:
    """Group a parcel's corners into rings: a new ring starts at a new 圈号, or after the ring closed."""
    rings: list[Ring] = []
    first_id, first_id_count, last_id = "", 0, ""
    for c in corners:
        if not rings or rings[-1].label != c.ring or _closes(rings[-1], first_id, first_id_count, last_id):
            rings.append(Ring([], [], c.ring))
            first_id, first_id_count = c.point_no, 0
        rings[-1].points.append(c.en)
        rings[-1].lines.append(c.line)
        first_id_count += c.point_no == first_id
        last_id = c.point_no
    return rings


def survey_geometry(
    rings: list[Ring],
    src: int | str,
    extent: CountyExtent | None,
    stated_zone: int | None,
    zone_width: int,
    parcel_no: str,
    line: int | None,
    must_be_closed: bool,
) -> tuple[MultiPolygon | None, list[BoundaryIssue]]:
    """Check the corners lie in their zone and the county, clean every ring and assemble holes and parts."""
    limits = upload_limits()
    if len(rings) > limits.parcel_rings:  # the first ring past the cap names the line
        return None, [too_many_rings(len(rings), limits, rings[limits.parcel_rings].lines[0], parcel_no)]
    for ring in rings:  # before any point is projected; the first point past the cap names the line
        corners = len(ring.points) - (len(ring.points) > 1 and ring.points[0] == ring.points[-1])
        if corners > limits.ring_points:
            return None, [too_many_ring_points(corners, ring.label, limits, ring.lines[limits.ring_points], parcel_no)]
    points = [en for r in rings for en in r.points]
    located = check_points(
        points, [ln for r in rings for ln in r.lines], src, extent, stated_zone, zone_width, parcel_no
    )
    if located:
        return None, located
    issues: list[BoundaryIssue] = []
    polys = []
    for ring in rings:
        poly, ring_issues = clean_ring(ring, parcel_no, must_be_closed=must_be_closed)
        issues += ring_issues
        if poly is not None:
            polys.append(poly)
    if any(i.severity == "error" for i in issues):
        return None, issues
    geom, assemble_issues = assemble(polys, parcel_no, line)
    return geom, [*issues, *assemble_issues]
