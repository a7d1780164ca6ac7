"""Files applicants send online (materials of the checklist, a boundary file): each bounded in size and told by its
first bytes, not by its name (service/data/online.toml); kept in the database with its case, never served to the
public; staff read them with the case."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.errors import InvalidInput, NotFound, TooLarge
from service.core.models import Case, CaseUpload
from service.core.tables import read_table


@dataclass(frozen=True)
class FileType:
    """A type a material may be: its media type, name, first bytes and the suffixes that go with it."""

    media_type: str
    name: str
    magic: tuple[bytes, ...]
    suffixes: tuple[str, ...]


@dataclass(frozen=True)
class SentFile:
    """A file as sent: the checklist item it answers (none: a boundary file), its name and bytes (read at most one
    byte past the limit, so an oversized file is known without reading it all)."""

    material_code: str | None
    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class CheckedFile:
    """A material that passed the checks."""

    material_code: str | None
    filename: str
    media_type: str
    sha256: str
    data: bytes = field(repr=False)


@cache
def limits() -> dict[str, Any]:
    """Return the bounds of materials sent online (service/data/online.toml [materials])."""
    return dict(read_table("online.toml")["materials"])


@cache
def file_types() -> tuple[FileType, ...]:
    """Return the types a material may be."""
    return tuple(
        FileType(t["media_type"], t["name"], tuple(bytes.fromhex(m) for m in t["magic"]), tuple(t["suffixes"]))
        for t in limits()["types"]
    )


def clean_filename(name: str) -> str:
    """Return a file's name as kept: its last path part, control characters dropped, bounded in length."""
    base = PurePath(name.replace("\\", "/")).name
    text = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    most = int(limits()["max_filename"])
    if len(text) > most:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: most - len(suffix) - 1] + dot + suffix) if dot and len(suffix) < 10 else text[:most]
    return text or "file"


def check_material(sent: SentFile) -> CheckedFile:
    """Check one material: its size, then its first bytes against the allowed types, then that its suffix agrees."""
    name = clean_filename(sent.filename)
    most = int(limits()["max_bytes"])
    if len(sent.data) > most:
        raise TooLarge(
            f"{name}：文件超过 {most / 1_048_576:g} MiB 的上限 / {name}: the file is larger than the limit of "
            f"{most / 1_048_576:g} MiB",
            limit_bytes=most,
            file=name,
        )
    if not sent.data:
        raise InvalidInput(f"{name}：文件是空的 / {name}: the file is empty", file=name)
    kind = next((t for t in file_types() if any(sent.data.startswith(m) for m in t.magic)), None)
    allowed = "、".join(t.name for t in file_types())
    if kind is None:
        raise InvalidInput(
            f"{name}：只接受 {allowed} 文件（按文件内容判断，不看扩展名） / {name}: only {allowed.replace('、', ', ')} "
            "files are taken (told by the file's content, not its name)",
            file=name,
        )
    suffix = PurePath(name).suffix.lower()
    if suffix not in kind.suffixes:
        raise InvalidInput(
            f"{name}：文件内容是 {kind.name}，与扩展名“{suffix or '无'}”不符 / {name}: the file is a {kind.name}, which "
            f"its name ({suffix or 'no suffix'}) does not say; name it {kind.suffixes[0]}",
            file=name,
        )
    return CheckedFile(sent.material_code, name, kind.media_type, hashlib.sha256(sent.data).hexdigest(), sent.data)


def check_materials(session_kind_codes: set[str], files: Sequence[SentFile]) -> list[CheckedFile]:
    """Check every material of one sending: their number, each one, their codes (items of the kind's checklist)
    and their total size; the first refusal names the file."""
    most = int(limits()["max_files"])
    if len(files) > most:
        raise InvalidInput(f"材料：一次至多上传 {most} 个文件 / materials: at most {most} files at a time")
    checked = []
    for f in files:
        if f.material_code not in session_kind_codes:
            known = ", ".join(sorted(session_kind_codes))
            raise InvalidInput(
                f"{clean_filename(f.filename)}：未知材料 {f.material_code!r} / {clean_filename(f.filename)}: unknown "
                f"material {f.material_code!r}; known: {known}"
            )
        checked.append(check_material(f))
    total, limit = sum(len(c.data) for c in checked), int(limits()["max_total_bytes"])
    if total > limit:
        raise TooLarge(
            f"材料：合计超过 {limit / 1_048_576:g} MiB / materials: together larger than {limit / 1_048_576:g} MiB",
            limit_bytes=limit,
        )
    return checked


def store(
    session: Session, case: Case, files: Sequence[CheckedFile], purpose: str, notice_id: int | None = None
) -> list[CaseUpload]:
    """Keep checked materials with their case (in the caller's transaction)."""
    rows = [
        CaseUpload(
            case_id=case.id,
            notice_id=notice_id,
            purpose=purpose,
            material_code=f.material_code,
            filename=f.filename,
            media_type=f.media_type,
            size=len(f.data),
            sha256=f.sha256,
            data=f.data,
        )
        for f in files
    ]
    session.add_all(rows)
    session.flush()
    return rows


def upload_row(u: CaseUpload) -> dict[str, Any]:
    """Return an upload as staff see it listed (without its bytes)."""
    return {
        "id": u.id,
        "purpose": u.purpose,
        "material_code": u.material_code,
        "filename": u.filename,
        "media_type": u.media_type,
        "size": u.size,
        "sha256": u.sha256,
        "status": u.status,
        "note": u.note,
        "boundary": u.geom is not None,
        "notice_id": u.notice_id,
        "uploaded_at": u.uploaded_at.isoformat(),
        "handled_at": u.handled_at.isoformat() if u.handled_at else None,
    }


def case_uploads(session: Session, case: Case) -> list[CaseUpload]:
    """Return the files sent online for a case, oldest first (their bytes not loaded)."""
    return list(session.scalars(select(CaseUpload).where(CaseUpload.case_id == case.id).order_by(CaseUpload.id)))


def case_upload(session: Session, case: Case, upload_id: int) -> CaseUpload:
    """Return one file of a case with its bytes (404 when the case has no such file)."""
    upload = session.get(CaseUpload, upload_id)
    if upload is None or upload.case_id != case.id:
        raise NotFound(f"该案件没有编号为 {upload_id} 的文件 / case {case.id} has no file {upload_id}")
    return upload


def receive_sent_materials(session: Session, case: Case, at: datetime) -> list[str]:
    """Tick the checklist items the applicant sent a file for with the application, as the window takes it in (the
    clerk has read the files; a wrong one is unticked like any other); return the codes ticked."""
    sent = set(
        session.scalars(
            select(CaseUpload.material_code).where(
                CaseUpload.case_id == case.id,
                CaseUpload.purpose == "application",
                CaseUpload.material_code.is_not(None),
            )
        )
    )
    ticked = []
    for m in case.materials:
        if m.code in sent and not m.received:
            m.received, m.received_at = True, at
            ticked.append(m.code)
    return ticked
