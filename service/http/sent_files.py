"""Files sent to the online window (the API and the pages alike), each read at most one byte past its limit before
anything else is done with it: the materials of the checklist, a boundary file or a plot drawn on the map."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from fastapi import Request, Response, UploadFile
from starlette.datastructures import UploadFile as StarletteUpload

from gis.boundary import CountyExtent
from service.cases.boundaries import boundary_from_geojson, boundary_from_upload
from service.cases.online import BoundaryFile, drawn_file
from service.cases.uploads import SentFile, limits
from service.core.errors import InvalidInput
from service.core.models import CaseUpload
from service.core.settings import Settings


def _chosen(f: StarletteUpload | str) -> bool:
    # a browser sends an empty part (no file name, no bytes) for a file field left empty; some clients send it as an
    # empty text field
    return not isinstance(f, str) and (bool(f.filename) or bool(f.size))


def sent_materials(files: Sequence[StarletteUpload | str], codes: Sequence[str]) -> list[SentFile]:
    """Pair each file with the checklist item it answers (the n-th code names the n-th file); files left empty are
    no file. Each is read at most max_bytes + 1 (service/data/online.toml)."""
    if len(files) != len(codes):
        raise InvalidInput(
            f"材料：{len(files)} 个文件对应 {len(codes)} 个材料代码，应一一对应 / materials: {len(files)} files but "
            f"{len(codes)} material codes; give one code per file, in the same order"
        )
    most = int(limits()["max_bytes"]) + 1
    if sum(1 for f in files if _chosen(f)) > int(limits()["max_files"]):
        raise InvalidInput(
            f"材料：一次至多上传 {limits()['max_files']} 个文件 / materials: at most {limits()['max_files']} files "
            "at a time"
        )
    return [
        SentFile(code, f.filename or "file", f.file.read(most))
        for f, code in zip(files, codes, strict=True)
        if not isinstance(f, str) and _chosen(f)
    ]


MATERIAL_FIELD = "material:"
"""A page's file field for one checklist item is named `material:<code>` (a field left empty is no file)."""


async def material_fields(request: Request) -> list[tuple[str, StarletteUpload]]:
    """Return a page form's materials as (checklist code, file), in the form's order: the form is the one the
    route's own fields were read from (parsed once, within the request-body limits)."""
    form = await request.form()
    return [
        (key[len(MATERIAL_FIELD) :], value)
        for key, value in form.multi_items()
        if key.startswith(MATERIAL_FIELD) and isinstance(value, StarletteUpload) and _chosen(value)
    ]


def sent_boundary(
    file: UploadFile | None, geojson: str | None, settings: Settings, extent: CountyExtent, required: bool = True
) -> BoundaryFile | None:
    """Read the plot: a boundary file, or the polygon drawn on the map (GeoJSON text), one of the two."""
    has_file = file is not None and _chosen(file)
    drawn = (geojson or "").strip()
    if has_file and drawn:
        raise InvalidInput(
            "用地范围：请上传文件或在地图上绘制，二选一 / boundary: upload a file or draw on the map, not both"
        )
    if has_file:
        assert file is not None
        data = file.file.read(settings.max_upload_bytes + 1)
        name = file.filename or "boundary"
        return BoundaryFile(name, data, boundary_from_upload(data, name, settings.max_upload_bytes, extent))
    if drawn:  # parsed in the bounded parser, its nesting measured before anything recurses
        return drawn_file(drawn, boundary_from_geojson(drawn, extent))
    if required:
        raise InvalidInput(
            "用地范围：请在地图上绘制地块或上传用地范围文件 / boundary: draw the plot on the map or upload a boundary file"
        )
    return None


def download(upload: CaseUpload) -> Response:
    """Return a kept file as an attachment under its checked media type (never shown inline, never cached)."""
    disposition = f"attachment; filename*=UTF-8''{quote(upload.filename)}"
    headers = {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}
    return Response(upload.data, media_type=upload.media_type, headers=headers)
