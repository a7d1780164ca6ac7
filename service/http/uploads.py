"""Uploads the API and the pages share, each read with its bound before anything else costs."""

from __future__ import annotations

from fastapi import UploadFile

from gis.boundary import CountyExtent
from service.cases import sitevisits
from service.cases.boundaries import BoundaryInput, boundary_from_upload
from service.core.settings import Settings


def visit_uploads(
    photos: list[UploadFile], as_built: UploadFile | None, settings: Settings, extent: CountyExtent
) -> tuple[list[sitevisits.PhotoUpload], BoundaryInput | None]:
    """Read the uploads, each bounded before it costs anything (a browser's empty file fields are no upload)."""
    most = int(sitevisits.table()["photos"]["max_bytes"])
    read = [
        sitevisits.PhotoUpload(p.filename or "photo", p.file.read(most + 1))
        for p in photos[: int(sitevisits.table()["photos"]["max_count"]) + 1]
        if p.filename or p.size
    ]
    footprint = None
    if as_built is not None and (as_built.filename or as_built.size):
        data = as_built.file.read(settings.max_upload_bytes + 1)
        footprint = boundary_from_upload(data, as_built.filename or "as-built", settings.max_upload_bytes, extent)
    return read, footprint
