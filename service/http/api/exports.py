"""A case's boundary as a download: GET /api/v1/cases/{id}/boundary.{txt|mining|geojson|gpkg|kml}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from gis.boundary.export import EXPORT_FORMATS
from service.cases.exports import export_case_boundary
from service.core.models import Case
from service.http.deps import PrincipalDep, SessionDep, case_access

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
FORMAT_PATTERN = "^(" + "|".join(EXPORT_FORMATS) + ")$"


@router.get(
    "/{case_id}/boundary.{fmt}",
    summary="The case's boundary as 界址点 TXT (GBK), mining corner string, GeoJSON, GeoPackage or KML",
    response_class=Response,
    responses={200: {"content": {t: {} for t, _ in EXPORT_FORMATS.values()}}},
)
def boundary_file(
    case: Annotated[Case, case_access("case.export")],
    fmt: Annotated[str, Path(pattern=FORMAT_PATTERN, description=" | ".join(EXPORT_FORMATS))],
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Return the boundary file, named after the case number; whoever may read the case may export it."""
    f = export_case_boundary(session, principal, case, fmt)
    return Response(
        f.data, media_type=f.media_type, headers={"Content-Disposition": f'attachment; filename="{f.filename}"'}
    )
