"""Documents generated from a case as print views and PDFs: receipt, check report, decision, homestead certificate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from service import documents
from service.api.cases import _visible
from web.docmap import boundary_svg
from web.documents import html_to_pdf, render_html
from web.pages import SessionDep, templates
from web.session import CsrfDep, UserDep, csrf_token, set_csrf_cookie

router = APIRouter(include_in_schema=False)

FILE_NAMES = {"receipt": "receipt", "check_report": "check-report", "decision": "decision", "certificate": "certificate"}


def _render(request: Request, template: str, doc: str, facts: dict[str, Any], pdf: bool, svg: str = "") -> Response:
    path = FILE_NAMES[doc]
    ctx = {"d": facts, "pdf": pdf, "map_svg": svg, "pdf_href": f"{path}.pdf", "csrf": csrf_token(request)}
    if not pdf:
        response = templates.TemplateResponse(request, template, ctx)
        set_csrf_cookie(request, response)
        return response
    data = html_to_pdf(render_html(templates, request, template, ctx), str(request.base_url))
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{path}-{facts["case_no"]}.pdf"'})  # fmt: skip


def _receipt(request: Request, session: Any, user: Any, case_id: int, code: str | None, pdf: bool) -> Response:
    case = _visible(session, user, case_id)
    return _render(request, "receipt.html", "receipt", documents.receipt(session, user, case, code), pdf)


@router.get("/cases/{case_id}/receipt", response_class=HTMLResponse)
def receipt_view(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
    """The acceptance receipt as a print view (a reprint: without the query code, which only intake knows)."""
    return _receipt(request, session, user, case_id, None, pdf=False)


@router.get("/cases/{case_id}/receipt.pdf")
def receipt_pdf(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
    """The acceptance receipt as a PDF (a reprint, without the query code)."""
    return _receipt(request, session, user, case_id, None, pdf=True)


@router.post("/cases/{case_id}/receipt", response_class=HTMLResponse)
def receipt_with_code(
    case_id: int, request: Request, session: SessionDep, user: UserDep, _csrf: CsrfDep,
    query_code: Annotated[str, Form(max_length=32)],
) -> Response:  # fmt: skip
    """The first receipt, printed at intake with the query code (posted, never in a URL; checked against its hash)."""
    return _receipt(request, session, user, case_id, query_code, pdf=False)


@router.post("/cases/{case_id}/receipt.pdf")
def receipt_with_code_pdf(
    case_id: int, request: Request, session: SessionDep, user: UserDep, _csrf: CsrfDep,
    query_code: Annotated[str, Form(max_length=32)],
) -> Response:  # fmt: skip
    """The first receipt as a PDF with the query code."""
    return _receipt(request, session, user, case_id, query_code, pdf=True)


def _map_of(facts: dict[str, Any], conflicts: bool, label_vertices: bool = False) -> str:
    if facts["boundary"] is None:
        return ""
    return boundary_svg(facts["boundary"], facts.get("conflicts") if conflicts else None, label_vertices=label_vertices)


def _document(doc: str, template: str, gather: Callable[..., dict[str, Any]], svg: Callable[[dict[str, Any]], str] | None) -> None:
    def build(case_id: int, request: Request, session: Any, user: Any, pdf: bool) -> Response:
        case = _visible(session, user, case_id)
        facts = gather(session, user, case)
        return _render(request, template, doc, facts, pdf, svg(facts) if svg else "")

    def view(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
        return build(case_id, request, session, user, pdf=False)

    def pdf(case_id: int, request: Request, session: SessionDep, user: UserDep) -> Response:
        return build(case_id, request, session, user, pdf=True)

    title = documents.DOCUMENTS[doc]
    view.__doc__, pdf.__doc__ = f"{title}: print view.", f"{title}: PDF."
    router.add_api_route(f"/cases/{{case_id}}/{FILE_NAMES[doc]}", view, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(f"/cases/{{case_id}}/{FILE_NAMES[doc]}.pdf", pdf, methods=["GET"])


_document("check_report", "check_report.html", documents.check_report, lambda f: _map_of(f, conflicts=True))
_document("decision", "decision.html", documents.decision, None)
_document("certificate", "certificate.html", documents.certificate, lambda f: _map_of(f, conflicts=False, label_vertices=True))
