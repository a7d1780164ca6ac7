"""The workbench: the case list with both clocks, a reviewer's open tasks and the cases awaiting a leader."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gis.check.rules import KINDS
from service.access import permissions
from service.access.auth import Principal
from service.cases.views import case_rows
from service.cases.worklists import awaiting_decision, review_tasks
from service.http.deps import SessionDep
from web.pages.common import page
from web.session import page_permission

router = APIRouter(include_in_schema=False)
LIST_LENGTH = 300


@router.get("/workbench", response_class=HTMLResponse)
def workbench(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, page_permission("case.list")],
    kind: str | None = None,
    due: str | None = None,
) -> Response:
    """List cases with both clocks as countdowns; overdue in red, the last day in amber."""
    kind = kind if kind in KINDS else None
    due = due if due in ("soon", "overdue") else None
    rows = case_rows(session, user, kind, due=due, limit=LIST_LENGTH)
    todo = (
        review_tasks(session, user.department) if permissions.allows(user, "case.review") and user.department else None
    )
    decide = awaiting_decision(session) if permissions.allows(user, "case.decide") else None
    context = {"rows": rows, "nav": "workbench", "kind": kind, "due": due, "todo": todo, "decide": decide}
    return page(request, "workbench.html", context, user=user)
