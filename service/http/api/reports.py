"""Reports: the monthly statistics (JSON, CSV, XLSX) and the satisfaction callbacks (万人评窗口).

Statistics: leaders, planners and administrators. Callbacks: leaders and administrators only — the calls judge the
window clerks, who therefore neither draw the sample nor record its outcomes. Phones are masked here; they are shown
in full only on the callback page (/callbacks).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from service.access.auth import Principal
from service.core.errors import NotFound
from service.http.deps import ReadSessionDep, SessionDep, permission
from service.reports import callbacks
from service.reports.statistics import Month, MonthlyStatistics, monthly_statistics

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Statistician = Annotated[Principal, permission("statistics.read")]
CallbackManager = Annotated[Principal, permission("callbacks.manage")]
MonthQuery = Annotated[str, Query(description="YYYY-MM", max_length=7)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _statistics(session: ReadSessionDep, month: str) -> MonthlyStatistics:
    return monthly_statistics(session, Month.parse(month))


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/monthly", summary="The month's figures per kind and clerk, and converted area by township")
def monthly(month: MonthQuery, session: ReadSessionDep, principal: Statistician) -> dict[str, Any]:
    """Return the monthly statistics as JSON."""
    return _statistics(session, month).to_dict()


@router.get("/monthly.csv", summary="The monthly statistics as CSV (UTF-8 with BOM, for Excel)")
def monthly_csv(month: MonthQuery, session: ReadSessionDep, principal: Statistician) -> Response:
    """Return the monthly statistics as a CSV download."""
    stats = _statistics(session, month)
    return _download(
        ("\ufeff" + stats.csv_text()).encode("utf-8"), "text/csv; charset=utf-8", f"monthly-{stats.month}.csv"
    )


@router.get("/monthly.xlsx", summary="The monthly statistics as an Excel workbook")
def monthly_xlsx(month: MonthQuery, session: ReadSessionDep, principal: Statistician) -> Response:
    """Return the monthly statistics as an XLSX download."""
    stats = _statistics(session, month)
    return _download(stats.xlsx_bytes(), XLSX, f"monthly-{stats.month}.xlsx")


class DrawIn(BaseModel):
    """A month's callback draw."""

    month: str = Field(max_length=7, description="YYYY-MM, a month that has ended")
    size: int | None = Field(default=None, ge=1, le=callbacks.MAX_SIZE)
    seed: int | None = Field(default=None, ge=0, lt=2**63)


class OutcomeIn(BaseModel):
    """The outcome of one callback."""

    outcome: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=2000)


@router.get("/callbacks", summary="The month's callback sample (phones masked)")
def callback_sample(month: MonthQuery, session: SessionDep, principal: CallbackManager) -> dict[str, Any]:
    """Return the month's drawn sample with the outcomes so far; 404 when not drawn yet."""
    m = Month.parse(month)
    drawn = callbacks.get_draw(session, m)
    if drawn is None:
        raise NotFound(f"{m} 尚未抽取回访样本 / no callback sample has been drawn for {m}")
    return callbacks.draw_view(drawn, m)


@router.post("/callbacks", status_code=201, summary="Draw the month's seeded callback sample (once)")
def callback_draw(body: DrawIn, session: SessionDep, principal: CallbackManager, response: Response) -> dict[str, Any]:
    """Draw the sample; the same month with the same (or no) seed and size returns the existing one (200)."""
    m = Month.parse(body.month)
    drawn, new = callbacks.draw(session, m, body.size, body.seed, by=principal)
    if not new:
        response.status_code = 200
    return callbacks.draw_view(drawn, m)


@router.post("/callbacks/{case_no}/outcome", summary="Record the outcome of a sampled case's callback")
def callback_outcome(case_no: str, body: OutcomeIn, session: SessionDep, principal: CallbackManager) -> dict[str, Any]:
    """Record (or correct) the outcome; the audit log keeps every version."""
    entry = callbacks.record(session, case_no, body.outcome, body.note, by=principal)
    return {
        "case_no": case_no,
        "outcome": entry.outcome,
        "note": entry.note,
        "called_at": entry.called_at.isoformat() if entry.called_at else None,
    }
