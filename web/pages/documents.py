"""Documents generated from a case as print views and PDFs: one-time notice, receipt, check report, decision,
homestead certificate and the rural construction planning permit beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from service.access.auth import Principal
from service.cases import documents
from service.core.models import Case
from service.http.deps import SessionDep
from web.map.docmap import boundary_svg
from web.pages.common import templates
from web.pdf import html_to_pdf, render_html
from web.session import CsrfDep, csrf_token, page_case, page_permission, set_csrf_cookie

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_permission("case.read")]
ReadCase = Annotated[Case, page_case("case.read")]

FILE_NAMES = {
    "notice": "notice",
    "receipt": "receipt",
    "check_report": "check-report",
    "decision": "decision",
    "certificate": "certificate",
    "planning_permit": "planning-permit",
}
TEMPLATES = {
    "notice": "notice.html",
    "receipt": "receipt.html",
    "check_report": "check_report.html",
    "decision": "decision.html",
    "certificate": "certificate.html",
    "planning_permit": "planning_permit.html",
}


def _render(
    request: Request, doc: str, case: Case, facts: dict[str, Any], pdf: bool, svg: str = "", download: bool = False
) -> Response:
    path = FILE_NAMES[doc]
    ctx = {"d": facts, "pdf": pdf, "map_svg": svg, "pdf_href": f"{path}.pdf", "csrf": csrf_token(request), **facts}
    if not pdf:
        response = templates.TemplateResponse(request, TEMPLATES[doc], ctx)
        set_csrf_cookie(request, response)
        return response
    data = html_to_pdf(render_html(templates, request, TEMPLATES[doc], ctx), str(request.base_url))
    disposition = f'{"attachment" if download else "inline"}; filename="{path}-{case.case_no}.pdf"'
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": disposition})


def _receipt(request: Request, session: Any, user: Principal, case: Case, code: str | None, pdf: bool) -> Response:
    return _render(request, "receipt", case, documents.receipt(session, user, case, code), pdf)


@router.get("/cases/{case_id}/receipt", response_class=HTMLResponse)
def receipt_view(case: ReadCase, request: Request, session: SessionDep, user: Reader) -> Response:
    """The acceptance receipt as a print view (a reprint: without the query code, which only intake knows)."""
    return _receipt(request, session, user, case, None, pdf=False)


@router.get("/cases/{case_id}/receipt.pdf")
def receipt_pdf(case: ReadCase, request: Request, session: SessionDep, user: Reader) -> Response:
    """The acceptance receipt as a PDF (a reprint, without the query code)."""
    return _receipt(request, session, user, case, None, pdf=True)


@router.post("/cases/{case_id}/receipt", response_class=HTMLResponse)
def receipt_with_code(
    _csrf: CsrfDep,
    case: ReadCase,
    request: Request,
    session: SessionDep,
    user: Reader,
    query_code: Annotated[str, Form(max_length=32)],
) -> Response:
    """The first receipt, printed at intake with the query code (posted, never in a URL; checked against its hash)."""
    return _receipt(request, session, user, case, query_code, pdf=False)


@router.post("/cases/{case_id}/receipt.pdf")
def receipt_with_code_pdf(
    _csrf: CsrfDep,
    case: ReadCase,
    request: Request,
    session: SessionDep,
    user: Reader,
    query_code: Annotated[str, Form(max_length=32)],
) -> Response:
    """The first receipt as a PDF with the query code."""
    return _receipt(request, session, user, case, query_code, pdf=True)


def _map_of(facts: dict[str, Any], conflicts: bool, label_vertices: bool = False) -> str:
    if facts.get("boundary") is None:
        return ""
    return boundary_svg(facts["boundary"], facts.get("conflicts") if conflicts else None, label_vertices=label_vertices)


def _document(doc: str, gather: Callable[..., dict[str, Any]], svg: Callable[[dict[str, Any]], str] | None) -> None:
    def build(case: Case, request: Request, session: Any, user: Principal, pdf: bool) -> Response:
        facts = gather(session, user, case)
        return _render(request, doc, case, facts, pdf, svg(facts) if svg else "")

    def view(case: ReadCase, request: Request, session: SessionDep, user: Reader) -> Response:
        return build(case, request, session, user, pdf=False)

    def pdf(case: ReadCase, request: Request, session: SessionDep, user: Reader) -> Response:
        return build(case, request, session, user, pdf=True)

    title = documents.DOCUMENTS[doc]
    view.__doc__, pdf.__doc__ = f"{title}: print view.", f"{title}: PDF."
    router.add_api_route(f"/cases/{{case_id}}/{FILE_NAMES[doc]}", view, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"/cases/{{case_id}}/{FILE_NAMES[doc]}.pdf", pdf, methods=["GET"])


MAPS: dict[str, Callable[[dict[str, Any]], str] | None] = {
    "notice": None,
    "check_report": lambda f: _map_of(f, conflicts=True),
    "decision": None,
    "certificate": lambda f: _map_of(f, conflicts=False, label_vertices=True),
    "planning_permit": lambda f: _map_of(f, conflicts=False, label_vertices=True),
}
"""The map each document prints (an SVG of the boundary; the check report's with its conflicts)."""


def render_document(
    request: Request, doc: str, case: Case, facts: dict[str, Any], pdf: bool, download: bool = False
) -> Response:
    """Render a document's facts as its print view or PDF (to save, with `download`), with its map."""
    svg = MAPS[doc]
    return _render(request, doc, case, facts, pdf, svg(facts) if svg else "", download)


_document("notice", documents.notice, MAPS["notice"])
_document("check_report", documents.check_report, MAPS["check_report"])
_document("decision", documents.decision, MAPS["decision"])
_document("certificate", documents.certificate, MAPS["certificate"])
_document("planning_permit", documents.planning_permit, MAPS["planning_permit"])
