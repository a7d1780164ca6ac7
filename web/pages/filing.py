"""Upward filing pages: the inbox of packages received and sent, a package with its map, who signed each layer and
their opinions, the disagreements of this level's re-run check, the decision, and the receipts going back down."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.access.auth import Principal
from service.core.errors import DomainError, InvalidInput, NotFound
from service.filing import chain as filing
from service.filing.chain import Instance
from service.http.deps import SessionDep, SettingsDep
from service.http.errors import status_for
from web.pages.common import page
from web.pages.mapviews import case_map
from web.session import CsrfDep, page_permission

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_permission("filing.read")]
RECEIPT_LIMIT = 1024 * 1024


def _inbox(request: Request, session: Any, user: Principal, status: int = 200, error: str | None = None) -> Response:
    received = [filing.package_view(session, p) for p in filing.list_packages(session, user, "received")]
    sent = [filing.package_view(session, p) for p in filing.list_packages(session, user, "sent")]
    context = {
        "nav": "filings",
        "received": received,
        "sent": sent,
        "rules": filing.rules(),
        "instance": {
            "name": request.app.state.settings.instance_name,
            "level": request.app.state.settings.instance_level,
        },
        "error": error,
    }
    return page(request, "filing_inbox.html", context, user=user, status=status)


@router.get("/filings", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, user: Reader) -> Response:
    """Packages received from the levels below (waiting ones first) and sent upward, with the upload forms."""
    return _inbox(request, session, user)


def _read(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{file.filename}: 文件超过 {limit // 1024 // 1024} MB / the file is larger than allowed")
    return data


@router.post("/filings/received", response_class=HTMLResponse)
def receive(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Annotated[Principal, page_permission("filing.receive")],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Receive a package from a level below: every layer verified, its check re-run here; then show it."""
    try:
        pkg = filing.receive_package(
            session, user, Instance.from_settings(settings), _read(file, settings.max_upload_bytes)
        )
    except DomainError as exc:
        session.rollback()
        return _inbox(request, session, user, status=status_for(exc), error=exc.message)
    return RedirectResponse(f"/filings/{pkg.package_id}", status_code=303)


@router.post("/filings/receipts", response_class=HTMLResponse)
def receipt(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Annotated[Principal, page_permission("filing.export")],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import the level above's receipt; a package this level passed on gives its own sender a receipt in turn."""
    try:
        pkg = filing.import_receipt(session, user, Instance.from_settings(settings), _read(file, RECEIPT_LIMIT))
    except DomainError as exc:
        session.rollback()
        return _inbox(request, session, user, status=status_for(exc), error=exc.message)
    return RedirectResponse(f"/filings/{pkg.package_id}", status_code=303)


def _package_page(
    request: Request,
    session: Any,
    user: Principal,
    settings: Any,
    package_id: str,
    status: int = 200,
    error: str | None = None,
) -> Response:
    pkg = filing.read_package(session, package_id, user, "view")
    view = filing.package_view(session, pkg, full=True)
    report = (view.get("check") or {}).get("report")
    context = {
        "nav": "filings",
        "p": view,
        "report": report,
        "rules": filing.rules(),
        "map": case_map(request, settings, view.get("boundary"), report),
        "error": error,
    }
    return page(request, "filing_package.html", context, user=user, status=status)


@router.get("/filings/{package_id}", response_class=HTMLResponse)
def package(package_id: str, request: Request, session: SessionDep, user: Reader, settings: SettingsDep) -> Response:
    """One package: map, layers and their signers and opinions, disagreements, this level's check, decisions."""
    return _package_page(request, session, user, settings, package_id)


@router.post("/filings/{package_id}/decide", response_class=HTMLResponse)
def decide(
    _csrf: CsrfDep,
    package_id: str,
    request: Request,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    decision: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Pre-sign, receive, return or pass on the package (the roles are filing.toml's); the receipt is signed."""
    try:
        filing.decide(session, user, Instance.from_settings(settings), package_id, decision, reason or None)
    except DomainError as exc:
        session.rollback()
        try:
            return _package_page(
                request, session, user, settings, package_id, error=exc.message, status=status_for(exc)
            )
        except NotFound:
            raise exc from None  # no such package: the refusal itself is the answer (403 before 404)
    return RedirectResponse(f"/filings/{package_id}", status_code=303)
