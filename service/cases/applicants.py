"""What applicants do with their query code: look up their own case, read its decision and documents, rate it once
decided; and the clerk's reissue of a lost code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal, hash_query_code, new_query_code, session_code_key, verify_query_code
from service.cases import documents
from service.cases.lookup import normal_case_no, normal_query_code
from service.cases.records import bump, locked_case
from service.cases.views import public_case
from service.cases.workflow import decided_states
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Case, Rating


def find_by_query_code(session: Session, case_no: str, query_code: str) -> Case:
    """Return the applicant's own case; the same 404 for a wrong number or a wrong code. Both are read as typed on
    a phone (case, width, spaces and dashes do not matter)."""
    case = session.scalar(select(Case).where(Case.case_no == normal_case_no(case_no)))
    if case is None or not verify_query_code(
        case.query_code_hash, normal_query_code(query_code), session_code_key(session)
    ):
        raise NotFound("案件编号或查询码不正确 / wrong case number or query code")
    return case


def applicant_case(session: Session, case: Case) -> dict[str, Any]:
    """Return what the applicant sees of their own case, with the decision (reason, appeal, documents) once decided."""
    return {**public_case(session, case), "decision": documents.decision_summary(session, case)}


def applicant_document(session: Session, case_no: str, query_code: str, document: str) -> tuple[Case, dict[str, Any]]:
    """Return the applicant's own case and one of its documents (decision, certificate), found by the query code."""
    case = find_by_query_code(session, case_no, query_code)
    return case, documents.for_applicant(session, case, document)


def rate(session: Session, case_no: str, query_code: str, stars: int, comment: str | None) -> Rating:
    """Record the applicant's star rating of a decided case, once."""
    case = find_by_query_code(session, case_no, query_code)
    if case.status not in decided_states():
        raise Conflict("案件办结后才能评价 / a case can be rated once it is decided")
    if not 1 <= stars <= 5:
        raise InvalidInput("评价：请选择1–5星 / stars: choose 1 to 5")
    if session.scalar(select(Rating).where(Rating.case_id == case.id)) is not None:
        raise Conflict("该案件已评价 / this case has been rated already")
    rating = Rating(case_id=case.id, clerk_id=case.received_by, stars=stars, comment=(comment or "").strip() or None)
    session.add(rating)
    session.flush()
    audit(session, f"applicant:{case.case_no}", "rating.create", case.id, None, {"stars": stars})
    return rating


def reissue_query_code(session: Session, actor: Principal, case_id: int, version: int, checked: str) -> str:
    """Issue a new query code for a lost one, after the clerk checked the applicant's identity (`checked` says how);
    the old code stops working at once. Audited without the code (only its hash is ever stored)."""
    permissions.require(actor, "case.query_code")
    if not checked.strip():
        raise InvalidInput(
            "补发查询码：请写明核验申请人身份的方式（如“身份证原件已核验”）/ reissue: say how the applicant's "
            "identity was checked (e.g. 'ID card seen')"
        )
    case = locked_case(session, case_id, version)
    code = new_query_code()
    case.query_code_hash = hash_query_code(code, session_code_key(session))
    bump(case)
    audit(session, actor.actor, "case.query_code", case.id, None, {"reissued": True}, detail=checked.strip())
    return code
