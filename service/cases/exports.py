"""A case's boundary as a file: 界址点 TXT, mining corner string, GeoJSON, GeoPackage or KML."""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPolygon
from sqlalchemy.orm import Session

from gis.boundary import BoundaryError
from gis.boundary.export import EXPORT_FORMATS, export_boundary, stored_boundary
from service.access.auth import Principal
from service.cases.boundaries import county_extent
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput
from service.core.models import Case


@dataclass(frozen=True)
class BoundaryFile:
    """An exported boundary file with what an HTTP answer needs to name it."""

    data: bytes
    media_type: str
    filename: str


def parcel_name(case: Case) -> str:
    """Return the name a boundary file gives the case's parcel (project, company or the applicant's plot)."""
    if case.project_name:
        return case.project_name
    if case.kind == "mining":
        return f"{case.company or case.applicant_name}采矿权"
    if case.kind == "homestead":
        return f"{case.applicant_name}宅基地"
    return case.applicant_name


def export_case_boundary(session: Session, actor: Principal, case: Case, fmt: str) -> BoundaryFile:
    """Write the case's stored boundary in `fmt`; the export is audited."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"未知导出格式 {fmt} / unknown export format {fmt!r}: {' | '.join(EXPORT_FORMATS)}")
    if case.geom is None:
        raise Conflict(
            f"案件 {case.case_no} 尚无用地范围，无法导出 / case {case.case_no} has no boundary to export yet"
        )
    geometry = to_shape(case.geom)
    assert isinstance(geometry, MultiPolygon)
    try:
        boundary = stored_boundary(
            geometry, case.case_no, parcel_name(case), case.depth_top, case.depth_bottom, county_extent(session)
        )
    except BoundaryError as exc:  # the county extent changed since the case was taken in
        raise Conflict(f"案件 {case.case_no} 的用地范围无法导出：{exc}", issues=[str(i) for i in exc.issues]) from exc
    props = {"case_no": case.case_no, "kind": case.kind}
    data = export_boundary(boundary, fmt, layer=case.case_no, properties=props)
    media_type, suffix = EXPORT_FORMATS[fmt]
    filename = f"{case.case_no}-boundary.{suffix}" if fmt != "mining" else f"{case.case_no}-mining.{suffix}"
    audit(session, actor.actor, "boundary.export", case.id, None, {"format": fmt, "bytes": len(data)})
    return BoundaryFile(data, media_type, filename)
