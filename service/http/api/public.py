"""What applicants reach with the case number and the query code on their receipt."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from service.cases import applicants
from service.http.deps import SessionDep
from service.http.limits import query_code_attempt
from service.http.schemas import RatingIn

router = APIRouter(prefix="/api/v1/public", tags=["applicants"])

QueryCode = Annotated[str, Header(alias="X-Query-Code", min_length=4, max_length=32, description="受理回执上的查询码")]


@router.get("/cases/{case_no}", summary="An applicant's own case")
def my_case(case_no: str, x_query_code: QueryCode, session: SessionDep, request: Request) -> dict[str, Any]:
    """Return the applicant's case: progress, deadlines, notice and plot (404 for any wrong number or code; 429 after too many)."""
    with query_code_attempt(request, case_no):
        case = applicants.find_by_query_code(session, case_no, x_query_code)
    return applicants.applicant_case(session, case)


@router.post("/cases/{case_no}/rating", status_code=201, summary="Rate the service once the case is decided")
def rate(
    case_no: str, body: RatingIn, x_query_code: QueryCode, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Record the applicant's 1–5 star rating and comment."""
    with query_code_attempt(request, case_no):
        rating = applicants.rate(session, case_no, x_query_code, body.stars, body.comment)
    return {"stars": rating.stars, "comment": rating.comment}
