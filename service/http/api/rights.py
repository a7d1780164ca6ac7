"""A granted mining right of a mining case: its facts and history, and its renewal, change, transfer, cancellation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from service.access.auth import Principal
from service.cases import mining_rights
from service.cases.transitions import transition
from service.cases.views import case_detail
from service.core.errors import NotFound
from service.core.models import Case
from service.http.deps import SessionDep, case_access, permission
from service.http.schemas import MiningRightIn

router = APIRouter(prefix="/api/v1/cases", tags=["mining rights"])
Reader = Annotated[Principal, permission("case.read")]
ReadCase = Annotated[Case, case_access("case.read")]


@router.get("/{case_id}/mining-right", summary="The mining right granted on the case, with its history")
def get_right(case: ReadCase, session: SessionDep) -> dict[str, Any]:
    """Return the right (licence number, holder, depths, validity) and every step of its history."""
    right = mining_rights.right_view(session, case)
    if right is None:
        raise NotFound(f"案件 {case.case_no} 没有采矿权 / no mining right has been granted on case {case.case_no}")
    return right


@router.post("/{case_id}/mining-right", summary="Renew, change, transfer or cancel the granted mining right")
def change_right(case: ReadCase, body: MiningRightIn, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Take the workflow's transition of the action (its roles and guards) and change the right with its history."""
    details = mining_rights.RightChange(
        valid_to=body.valid_to,
        holder=body.holder,
        mineral=body.mineral,
        depth_top=body.depth_top,
        depth_bottom=body.depth_bottom,
    )
    name = mining_rights.TRANSITIONS[body.action]
    moved = transition(session, principal, case.id, name, body.version, body.reason, details=details)
    return {"case": case_detail(session, moved, principal.role), "right": mining_rights.right_view(session, moved)}
