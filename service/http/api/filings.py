"""Upward filing over HTTP: export a case's package, receive one from below, decide on it, import the receipt."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field

from service.access.auth import Principal
from service.core.errors import InvalidInput, NotFound
from service.core.models import Case
from service.filing import chain as filing
from service.filing.chain import Instance
from service.filing.package import receipt_bytes
from service.http.deps import SessionDep, SettingsDep, case_access, permission

router = APIRouter(tags=["filing"])
Reader = Annotated[Principal, permission("filing.read")]


class ExportIn(BaseModel):
    """Where to send the package (default: the level above this instance)."""

    to_level: str | None = Field(default=None, description="city | province | ministry")


class DecisionIn(BaseModel):
    """The receiver's decision on a package."""

    decision: str = Field(description="presign (预审签收) | receive (受理) | return (退回)")
    reason: str | None = Field(default=None, max_length=2000, description="required to return")


def _download(content: bytes, media_type: str, filename: str, **headers: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"', **headers}
    )


def _upload(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(
            f"{file.filename}: 文件超过 {limit // 1024 // 1024} MB / the file is larger than allowed", failed="size"
        )
    return data


@router.post("/api/v1/cases/{case_id}/filing", summary="Export the case's signed upward package (a zip)")
def export(
    case: Annotated[Case, case_access("filing.export")],
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    body: ExportIn | None = None,
) -> Response:
    """Build, sign and record the package of a case that needs higher approval; return the zip."""
    pkg, data = filing.export_case(
        session, principal, Instance.from_settings(settings), case.case_no, body.to_level if body else None
    )
    return _download(
        data,
        "application/zip",
        f"filing-{pkg.case_no}-{pkg.package_id[:8]}.zip",
        **{"X-Filing-Package-Id": pkg.package_id},
    )


@router.get("/api/v1/cases/{case_id}/filings", summary="The case's upward packages with the receiver's status")
def case_filings(case: Annotated[Case, case_access("filing.read")], session: SessionDep) -> list[dict[str, Any]]:
    """Return the packages sent for a case, newest first, each with the status of its latest receipt."""
    return [filing.package_view(session, p) for p in filing.case_packages(session, case.id)]


@router.get("/api/v1/filings", summary="Packages sent and received")
def list_filings(
    session: SessionDep,
    principal: Reader,
    direction: Annotated[str | None, Query(pattern="^(sent|received)$")] = None,
) -> list[dict[str, Any]]:
    """Return the packages newest first."""
    return [filing.package_view(session, p) for p in filing.list_packages(session, principal, direction)]


@router.post("/api/v1/filings/received", status_code=201, summary="Receive a package from the level below")
def receive(
    session: SessionDep,
    principal: Annotated[Principal, permission("filing.receive")],
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the package (.zip)")],
) -> dict[str, Any]:
    """Verify the package, re-run its check on this instance's map and store both; a refusal writes nothing."""
    instance = Instance.from_settings(settings)
    pkg = filing.receive_package(session, principal, instance, _upload(file, settings.max_upload_bytes))
    return filing.package_view(session, pkg, full=True)


@router.get("/api/v1/filings/{package_id}", summary="One package with this instance's check")
def get_filing(package_id: str, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Return a package (a received one with the receiver's full check report); 404 unless its case is visible."""
    return filing.package_view(session, filing.read_package(session, package_id, principal, "view"), full=True)


@router.post("/api/v1/filings/{package_id}/decisions", summary="Pre-sign, receive or return a received package")
def decide(
    package_id: str, body: DecisionIn, session: SessionDep, principal: Reader, settings: SettingsDep
) -> dict[str, Any]:
    """Record the decision and return the package with the signed receipt for the sender."""
    pkg, receipt = filing.decide(
        session, principal, Instance.from_settings(settings), package_id, body.decision, body.reason
    )
    return {"package": filing.package_view(session, pkg), "receipt": receipt}


@router.get(
    "/api/v1/filings/{package_id}/receipt", summary="The latest signed receipt of a received package (JSON file)"
)
def receipt(package_id: str, session: SessionDep, principal: Reader) -> Response:
    """Return the receipt to hand to the sender."""
    pkg = filing.read_package(session, package_id, principal, "receipt")
    if pkg.direction != "received" or pkg.receipt is None:
        raise NotFound(f"报批包 {package_id} 尚无回执 / package {package_id} has no receipt yet")
    return _download(receipt_bytes(pkg.receipt), "application/json", f"receipt-{pkg.package_id}-{pkg.receipt_seq}.json")


@router.get("/api/v1/filings/{package_id}/archive", summary="The package as sent or received (zip)")
def archive(package_id: str, session: SessionDep, principal: Reader) -> Response:
    """Return the stored package bytes (with the applicant's full identity: the download is audited)."""
    pkg = filing.read_package(session, package_id, principal, "archive")
    return _download(pkg.archive, "application/zip", f"filing-{pkg.case_no}-{pkg.package_id[:8]}.zip")


@router.post("/api/v1/filings/receipts", summary="Import the higher level's signed receipt")
def import_receipt(
    session: SessionDep,
    principal: Annotated[Principal, permission("filing.export")],
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the receipt (.json)")],
) -> dict[str, Any]:
    """Verify the receipt and update the sent package's status."""
    pkg = filing.import_receipt(session, principal, Instance.from_settings(settings), _upload(file, 1024 * 1024))
    return filing.package_view(session, pkg)
