"""A case's boundary as a download: GET /api/v1/cases/{id}/boundary.{txt|mining|geojson|gpkg|kml}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from gis.boundary.export import EXPORT_FORMATS
from service.api.cases import _visible
from service.api.deps import CaseId, PrincipalDep, SessionDep
from service.exports import export_case_boundary

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
FORMAT_PATTERN = "^(" + "|".join(EXPORT_FORMATS) + ")$"


@router.get(
    "/{case_id}/boundary.{fmt}",
    summary="The case's boundary as 界址点 TXT (GBK), mining corner string, GeoJSON, GeoPackage or KML",
    response_class=Response,
    responses={200: {"content": {t: {} for t, _ in EXPORT_FORMATS.values()}}},
)
def boundary_file(
    case_id: CaseId,
    fmt: Annotated[str, Path(pattern=FORMAT_PATTERN, description=" | ".join(EXPORT_FORMATS))],
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Return the boundary file, named after the case number; whoever may read the case may export it."""
    case = _visible(session, principal, case_id)
    f = export_case_boundary(session, principal, case, fmt)
    return Response(f.data, media_type=f.media_type, headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})
