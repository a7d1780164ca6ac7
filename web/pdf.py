"""Printable documents: HTML print views rendered to PDF with WeasyPrint (CJK fonts from the system)."""

from __future__ import annotations

from typing import Any

import weasyprint
from fastapi import Request
from fastapi.templating import Jinja2Templates


def render_html(templates: Jinja2Templates, request: Request, name: str, context: dict[str, Any]) -> str:
    """Render a document template to an HTML string."""
    return templates.get_template(name).render({"request": request, **context})


def html_to_pdf(html: str, base_url: str) -> bytes:
    """Render HTML (with its local stylesheet) to PDF bytes."""
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()  # type: ignore[no-any-return]
