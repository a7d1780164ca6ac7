"""What applicants do with their query code: look up their own case, rate it once decided."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.access.auth import session_code_key, verify_query_code
from service.cases.workflow import decided_states
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Case, Rating


def find_by_query_code(session: Session, case_no: str, query_code: str) -> Case:
    """Return the applicant's own case; the same 404 for a wrong number or a wrong code."""
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    if case is None or not verify_query_code(
        case.query_code_hash, query_code.strip().upper(), session_code_key(session)
    ):
        raise NotFound("案件编号或查询码不正确 / wrong case number or query code")
    return case


def rate(session: Session, case_no: str, query_code: str, stars: int, comment: str | None) -> Rating:
    """Record the applicant's star rating of a decided case, once."""
    case = find_by_query_code(session, case_no, query_code)
    if case.status not in decided_states():
        raise Conflict("案件办结后才能评价 / a case can be rated once it is decided")
    if not 1 <= stars <= 5:
        raise InvalidInput("评价为1–5星 / stars must be 1–5")
    if session.scalar(select(Rating).where(Rating.case_id == case.id)) is not None:
        raise Conflict("该案件已评价 / this case has been rated already")
    rating = Rating(case_id=case.id, clerk_id=case.received_by, stars=stars, comment=(comment or "").strip() or None)
    session.add(rating)
    session.flush()
    audit(session, f"applicant:{case.case_no}", "rating.create", case.id, None, {"stars": stars})
    return rating
