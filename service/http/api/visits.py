"""The site visits after a homestead's approval: record one (date, inspector, findings, photos, the as-built
footprint at completion), list them, fetch a photo."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Response, UploadFile

from service.access.auth import Principal
from service.cases import sitevisits
from service.cases.boundaries import county_extent
from service.cases.views import case_detail
from service.core.models import Case
from service.http.deps import MAX_ID, SessionDep, SettingsDep, case_access, permission
from service.http.schemas import MAX_VERSION
from service.http.uploads import visit_uploads

router = APIRouter(prefix="/api/v1/cases", tags=["site visits"])
Reader = Annotated[Principal, permission("case.read")]
ReadCase = Annotated[Case, case_access("case.read")]


@router.get("/{case_id}/visits", summary="The site visits of a homestead after approval")
def list_visits(case: ReadCase, session: SessionDep) -> dict[str, Any]:
    """Return the visits (photos by id) and the visit due now."""
    due = sitevisits.next_step(case)
    return {
        "due": due.code if due else None,
        "visits": [sitevisits.visit_view(v) for v in sitevisits.visits(session, case)],
    }


@router.post("/{case_id}/visits", status_code=201, summary="Record a site visit (multipart: photos, as-built file)")
def record(
    case: ReadCase,
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
    step: Annotated[str, Form(max_length=40)],
    visited_on: Annotated[date, Form()],
    inspector: Annotated[str, Form(max_length=200)],
    findings: Annotated[str, Form(max_length=4000)],
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP, each at most 8 MB")] = None,
    as_built: Annotated[
        UploadFile | None, File(description="the completion survey's footprint, any boundary format")
    ] = None,
) -> dict[str, Any]:
    """Record the visit with its photos and findings and take its step (a blocking as-built footprint stays)."""
    read, footprint = visit_uploads(photos or [], as_built, settings, county_extent(session))
    visit = sitevisits.VisitInput(step, visited_on, inspector, findings, read, footprint)
    done = sitevisits.record_visit(session, principal, case.id, version, visit)
    session.refresh(case)
    return {"visit": sitevisits.visit_view(done), "case": case_detail(session, case, principal.role)}


@router.get("/{case_id}/visits/{visit_id}/photos/{photo_id}", summary="A photo of a site visit")
def photo(
    case: ReadCase,
    session: SessionDep,
    visit_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    photo_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    """Return the photo as it was uploaded."""
    p = sitevisits.photo(session, case, visit_id, photo_id)
    disposition = f"inline; filename*=UTF-8''{quote(p.filename)}"
    return Response(
        p.data,
        media_type=p.media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "private, max-age=3600"},
    )
