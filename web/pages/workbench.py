"""The workbench: the case list with both clocks, a reviewer's open tasks and the cases awaiting a leader."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gis.check.rules import KINDS
from service.access import permissions
from service.access.auth import Principal
from service.cases.views import case_rows, count_cases
from service.cases.worklists import awaiting_decision, online_waiting, review_tasks
from service.http.deps import SessionDep
from web.pages.common import page
from web.session import page_permission

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


@router.get("/workbench", response_class=HTMLResponse)
def workbench(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, page_permission("case.list")],
    kind: str | None = None,
    due: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> Response:
    """List cases with both clocks as countdowns (overdue in red, the last day in amber), a page at a time; search
    by case number, applicant, ID number, parcel number or village."""
    kind = kind if kind in KINDS else None
    due = due if due in ("soon", "overdue") else None
    q = (q or "").strip() or None
    total = count_cases(session, user, kind, due=due, q=q)
    pages = max(1, -(-total // PAGE_SIZE))
    page_no = min(page_no, pages)
    rows = case_rows(session, user, kind, due=due, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE, q=q)
    todo = (
        review_tasks(session, user.department) if permissions.allows(user, "case.review") and user.department else None
    )
    decide = awaiting_decision(session) if permissions.allows(user, "case.decide") else None
    online = online_waiting(session, user) if permissions.allows(user, "case.supplement") else None
    keep = {k: v for k, v in (("kind", kind), ("due", due), ("q", q)) if v}
    paging = {
        "total": total,
        "page": page_no,
        "pages": pages,
        "first": (page_no - 1) * PAGE_SIZE + 1 if total else 0,
        "last": min(page_no * PAGE_SIZE, total),
        "prev": f"/workbench?{urlencode({**keep, 'page': page_no - 1})}" if page_no > 1 else None,
        "next": f"/workbench?{urlencode({**keep, 'page': page_no + 1})}" if page_no < pages else None,
    }
    context = {
        "rows": rows,
        "nav": "workbench",
        "kind": kind,
        "due": due,
        "q": q,
        "paging": paging,
        "todo": todo,
        "decide": decide,
        "online": online,
    }
    return page(request, "workbench.html", context, user=user)
