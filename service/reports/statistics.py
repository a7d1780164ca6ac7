"""Monthly statistics of the window (月度统计): per kind and per clerk, and the land converted by township.

Events come from the append-only audit log: a case is *received* by its `case.create` entry, *accepted*,
*returned for supplements* and *decided* by its `transition.*` entries (which transitions count as which is data:
service/data/statistics.toml and the `clock` / `decides` keys of service/data/workflow.toml). A case belongs to the
clerk who took it in (`cases.received_by`, the same clerk its rating is booked to). Figures of one month:

- carried over: taken in before the month and not decided before it; received: taken in during the month;
- accepted / returned / decided (approved, rejected = every other decision, 不予受理 included): cases with such a
  step in the month; in progress: not decided at the month's end (carried over + received − decided);
- on time / overdue: cases decided in the month against each stored clock (decided at or before the due time);
- average working days: receipt to decision of the cases decided in the month, pauses for supplements left out;
- green channel: cases taken in during the month on the green channel;
- rating: the applicants' stars on the cases decided in the month;
- converted area: 农用地 and 耕地 of the stored check of each case approved in the month (kinds in
  statistics.toml), shared out over the townships layer by the part of the boundary in each township.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.types import BigInteger, Numeric, Text

from gis.check.rules import ruleset
from gis.crs import m2_to_mu
from gis.landuse import AGRICULTURAL
from service.cases.workflow import workflow
from service.clocks import case_clocks as clocks
from service.clocks.calendar import LOCAL_TZ
from service.core.errors import InvalidInput
from service.core.models import KINDS, AuditEntry, Case
from service.core.spreadsheets import csv_text, safe_row
from service.core.tables import read_table

CULTIVATED = "耕地"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@cache
def settings() -> dict[str, Any]:
    """Return service/data/statistics.toml, read once."""
    return read_table("statistics.toml")


@dataclass(frozen=True)
class Month:
    """A calendar month in the county's time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> Month:
        """Parse `YYYY-MM`; InvalidInput saying what is wrong otherwise."""
        m = _MONTH.match(value.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
            raise InvalidInput(
                f"月份格式应为 YYYY-MM，例如 2026-11（收到 {value!r}）/ month must be YYYY-MM, e.g. 2026-11 (got {value!r})"
            )
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Month:
        """Return the month a moment falls in (county time)."""
        local = at.astimezone(LOCAL_TZ)
        return cls(local.year, local.month)

    @property
    def start(self) -> datetime:
        """Return the first moment of the month (county time)."""
        return datetime(self.year, self.month, 1, tzinfo=LOCAL_TZ)

    @property
    def end(self) -> datetime:
        """Return the first moment of the next month (county time)."""
        return self.next().start

    def next(self) -> Month:
        """Return the following month."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        """Return the month before."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# (attribute, Chinese, English): the figure columns, in the order every export shows them
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("carried_over", "上月结转", "Carried over"),
    ("received", "本月收件", "Received"),
    ("accepted", "受理", "Accepted"),
    ("returned", "退回补正", "Returned for supplements"),
    ("decided", "办结", "Decided"),
    ("approved", "批准", "Approved"),
    ("rejected", "不予批准/不予受理", "Rejected / refused"),
    ("in_progress", "月末在办", "In progress at month end"),
    ("statutory_on_time", "法定时限内办结", "On time (statutory)"),
    ("statutory_overdue", "超法定时限", "Overdue (statutory)"),
    ("promised_on_time", "承诺时限内办结", "On time (promised)"),
    ("promised_overdue", "超承诺时限", "Overdue (promised)"),
    ("avg_working_days", "平均用时（工作日）", "Average working days"),
    ("green_channel", "绿色通道", "Green channel"),
    ("rating_avg", "平均星级", "Average stars"),
    ("rating_count", "评价数", "Ratings"),
)
CONVERSION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("township", "乡镇", "Township"),
    ("cases", "批准件数", "Cases approved"),
    ("agricultural_m2", "农用地（平方米）", "Agricultural land m²"),
    ("agricultural_mu", "农用地（亩）", "Agricultural land mu"),
    ("cultivated_m2", "耕地（平方米）", "Cultivated land m²"),
    ("cultivated_mu", "耕地（亩）", "Cultivated land mu"),
)
GROUP_TITLES = {"kind": ("类型", "Kind"), "clerk": ("窗口人员", "Clerk"), "total": ("合计", "Total")}


@dataclass
class Figures:
    """One row of the monthly table: a kind, a clerk or the total."""

    group: str
    key: str | None
    label: str
    carried_over: int = 0
    received: int = 0
    accepted: int = 0
    returned: int = 0
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    in_progress: int = 0
    statutory_on_time: int = 0
    statutory_overdue: int = 0
    promised_on_time: int = 0
    promised_overdue: int = 0
    avg_working_days: float | None = None
    green_channel: int = 0
    rating_avg: float | None = None
    rating_count: int = 0


@dataclass
class TownshipConversion:
    """Land converted by the cases approved in the month, in one township."""

    township: str
    cases: int
    agricultural_m2: float
    cultivated_m2: float

    @property
    def agricultural_mu(self) -> float:
        """Return the agricultural land in mu."""
        return m2_to_mu(self.agricultural_m2)

    @property
    def cultivated_mu(self) -> float:
        """Return the cultivated land in mu."""
        return m2_to_mu(self.cultivated_m2)


@dataclass
class MonthlyStatistics:
    """The month's figures per kind, per clerk and in total, and the converted land by township."""

    month: Month
    by_kind: list[Figures]
    by_clerk: list[Figures]
    total: Figures
    conversions: list[TownshipConversion]
    generated_at: datetime = field(default_factory=lambda: datetime.now(LOCAL_TZ))

    @property
    def rows(self) -> list[Figures]:
        """Return every row: the kinds, the clerks, then the total."""
        return [*self.by_kind, *self.by_clerk, self.total]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {
            "month": str(self.month),
            "generated_at": self.generated_at.isoformat(),
            "columns": [{"key": k, "zh": zh, "en": en} for k, zh, en in COLUMNS],
            "by_kind": [asdict(f) for f in self.by_kind],
            "by_clerk": [asdict(f) for f in self.by_clerk],
            "total": asdict(self.total),
            "conversions": [{k: getattr(c, k) for k, _, _ in CONVERSION_COLUMNS} for c in self.conversions],
        }

    def table(self) -> list[list[Any]]:
        """Return the figures as rows of cells with a bilingual header (what CSV and XLSX hold)."""
        header = ["分组 Group", "名称 Name", *(f"{zh} {en}" for _, zh, en in COLUMNS)]
        body = [
            [" ".join(GROUP_TITLES[f.group]), f.label, *(_cell(getattr(f, k)) for k, _, _ in COLUMNS)]
            for f in self.rows
        ]
        return [header, *body]

    def conversion_table(self) -> list[list[Any]]:
        """Return the converted land by township as rows of cells with a bilingual header."""
        header = [f"{zh} {en}" for _, zh, en in CONVERSION_COLUMNS]
        return [header, *([_cell(getattr(c, k)) for k, _, _ in CONVERSION_COLUMNS] for c in self.conversions)]

    def csv_text(self) -> str:
        """Return the CSV: the figures, a blank line, then the converted land by township (cells made safe)."""
        return csv_text(
            [
                [f"月度统计 Monthly statistics {self.month}"],
                *self.table(),
                [],
                [f"农用地转用面积（按乡镇）Converted area by township {self.month}"],
                *self.conversion_table(),
            ]
        )

    def xlsx_bytes(self) -> bytes:
        """Return the workbook: one sheet of figures, one of converted land by township."""
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "办件统计 Cases"
        for name, rows in ((ws, self.table()), (wb.create_sheet("转用面积 Conversions"), self.conversion_table())):
            name.append([f"{self.month}"])
            for row in rows:
                name.append(safe_row(row))  # names and townships typed by clerks: never a formula
            for cell in name[2]:
                cell.font = Font(bold=True)
            name.freeze_panes = "C3" if name is ws else "B3"
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


def _cell(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def _actions(names: set[str]) -> list[str]:
    return sorted(f"transition.{n}" for n in names)


@cache
def transition_actions() -> dict[str, list[str]]:
    """Return the audit actions of each event, from the workflow and statistics data."""
    ts = [t for k in workflow().kinds.values() for t in k.transitions]
    return {
        "accept": _actions(set(settings()["monthly"]["accepted"])),
        "returned": _actions({t.name for t in ts if t.clock == "pause"}),
        "decide": _actions({t.name for t in ts if t.decides}),
        "approve": _actions({t.name for t in ts if t.decides and t.target == "approved"}),
    }


def decided_in(month: Month) -> Any:
    """Return a select of the ids of the cases decided in the month (from the audit log)."""
    return select(AuditEntry.case_id).where(
        AuditEntry.action.in_(transition_actions()["decide"]), AuditEntry.at >= month.start, AuditEntry.at < month.end
    )


_FIGURES = text("""
WITH ev AS (
    SELECT a.case_id,
           min(a.at) FILTER (WHERE a.action = 'case.create') AS created,
           min(a.at) FILTER (WHERE a.action = ANY(:decide)) AS decided,
           coalesce(bool_or(a.action = ANY(:approve)), false) AS approved,
           coalesce(bool_or(a.action = ANY(:accept) AND a.at >= :t0), false) AS accepted,
           coalesce(bool_or(a.action = ANY(:returned) AND a.at >= :t0), false) AS returned
    FROM audit_log a
    WHERE a.case_id IS NOT NULL AND a.at < :t1
      AND (a.action = 'case.create' OR a.action = ANY(:decide) OR a.action = ANY(:accept) OR a.action = ANY(:returned))
    GROUP BY a.case_id
), per AS (
    SELECT c.id, c.kind, c.received_by, c.green_channel, c.decided_at, c.statutory_due, c.promised_due,
           ev.created < :t0 AS carried, ev.created >= :t0 AS received, ev.accepted, ev.returned,
           ev.decided IS NOT NULL AS decided, ev.decided IS NOT NULL AND ev.approved AS approved
    FROM ev JOIN cases c ON c.id = ev.case_id
    WHERE ev.created IS NOT NULL AND (ev.decided IS NULL OR ev.decided >= :t0)
), agg AS (
    SELECT GROUPING(p.kind) AS g_kind, GROUPING(p.received_by) AS g_clerk, p.kind, p.received_by,
           count(*) FILTER (WHERE p.carried) AS carried_over,
           count(*) FILTER (WHERE p.received) AS received,
           count(*) FILTER (WHERE p.accepted) AS accepted,
           count(*) FILTER (WHERE p.returned) AS returned,
           count(*) FILTER (WHERE p.decided) AS decided,
           count(*) FILTER (WHERE p.approved) AS approved,
           count(*) FILTER (WHERE p.decided AND NOT p.approved) AS rejected,
           count(*) FILTER (WHERE NOT p.decided) AS in_progress,
           count(*) FILTER (WHERE p.decided AND p.decided_at <= p.statutory_due) AS statutory_on_time,
           count(*) FILTER (WHERE p.decided AND p.decided_at > p.statutory_due) AS statutory_overdue,
           count(*) FILTER (WHERE p.decided AND p.decided_at <= p.promised_due) AS promised_on_time,
           count(*) FILTER (WHERE p.decided AND p.decided_at > p.promised_due) AS promised_overdue,
           avg(wd.days) AS avg_working_days,
           count(*) FILTER (WHERE p.received AND p.green_channel) AS green_channel,
           avg(r.stars) FILTER (WHERE p.decided) AS rating_avg,
           count(r.id) FILTER (WHERE p.decided) AS rating_count
    FROM per p
    LEFT JOIN unnest(:wd_ids, :wd_days) AS wd(case_id, days) ON wd.case_id = p.id
    LEFT JOIN ratings r ON r.case_id = p.id
    GROUP BY GROUPING SETS ((p.kind), (p.received_by), ())
)
SELECT agg.*, u.username, u.display_name FROM agg LEFT JOIN users u ON u.id = agg.received_by
""").bindparams(
    bindparam("decide", type_=ARRAY(Text)),
    bindparam("approve", type_=ARRAY(Text)),
    bindparam("accept", type_=ARRAY(Text)),
    bindparam("returned", type_=ARRAY(Text)),
    bindparam("wd_ids", type_=ARRAY(BigInteger)),
    bindparam("wd_days", type_=ARRAY(Numeric)),
)

# The stored check's 农用地 / 耕地 of each case approved in the month, shared out over the townships by the part of
# the boundary in each (areas planar in the boundary's 3° zone); what lies in no township goes to the intake's.
_CONVERSIONS = text("""
WITH conv AS (
    SELECT c.id, c.geom, coalesce(nullif(c.township, ''), '—') AS intake_township,
           4488 + (r.report->>'zone')::int AS srid,
           coalesce((r.report->'categories'->>:agricultural)::float8, 0) AS agr,
           coalesce((r.report->'categories'->>:cultivated)::float8, 0) AS cult
    FROM cases c JOIN check_runs r ON r.id = c.latest_check_id
    WHERE c.kind = ANY(:kinds) AND c.geom IS NOT NULL
      AND c.id IN (SELECT case_id FROM audit_log WHERE action = ANY(:approve) AND at >= :t0 AND at < :t1)
      AND coalesce((r.report->'categories'->>:agricultural)::float8, 0) > 0
), share AS (
    SELECT conv.id, t.name AS township,
           ST_Area(ST_Transform(ST_Intersection(conv.geom, t.geom), conv.srid))
             / nullif(ST_Area(ST_Transform(conv.geom, conv.srid)), 0) AS f
    FROM conv JOIN townships t ON ST_Intersects(conv.geom, t.geom)
), parts AS (
    SELECT id, township, f FROM share
    UNION ALL
    SELECT conv.id, conv.intake_township, 1 - coalesce(sum(share.f), 0)
    FROM conv LEFT JOIN share ON share.id = conv.id GROUP BY conv.id, conv.intake_township
    HAVING 1 - coalesce(sum(share.f), 0) > 1e-9
)
SELECT parts.township, count(DISTINCT parts.id), sum(conv.agr * parts.f), sum(conv.cult * parts.f)
FROM parts JOIN conv ON conv.id = parts.id
WHERE parts.f > 1e-9
GROUP BY parts.township ORDER BY parts.township
""").bindparams(bindparam("kinds", type_=ARRAY(Text)), bindparam("approve", type_=ARRAY(Text)))


def _working_days(session: Session, month: Month) -> tuple[list[int], list[Decimal]]:
    """Return the working days from receipt to decision (pauses left out) of each case decided in the month.

    The working-day calendar (holidays, 调休 workdays, half days) lives in Python, so this is the one per-case
    step, bounded by the month's decisions.
    """
    cases = session.scalars(
        select(Case)
        .options(selectinload(Case.pauses))
        .where(Case.id.in_(decided_in(month)), Case.decided_at.is_not(None))
    ).all()
    clock = clocks.clock()
    ids, days = [], []
    for c in cases:
        assert c.decided_at is not None
        reading = clock.read(
            c.received_at, c.kind, green_channel=c.green_channel, pauses=list(c.pauses), now=c.decided_at
        )
        ids.append(c.id)
        days.append(reading.statutory.used)
    return ids, days


def _figures(row: Any, group: str, key: str | None, label: str) -> Figures:
    f = Figures(group=group, key=key, label=label)
    for name in asdict(f):
        if name in ("group", "key", "label"):
            continue
        value = getattr(row, name)
        if name in ("avg_working_days", "rating_avg"):
            setattr(f, name, None if value is None else round(float(value), 2))
        else:
            setattr(f, name, int(value))
    return f


def monthly_statistics(session: Session, month: Month) -> MonthlyStatistics:
    """Compute the month's figures (one statement for every kind, clerk and the total; one for the conversions)."""
    actions = transition_actions()
    ids, days = _working_days(session, month)
    params = {
        "t0": month.start,
        "t1": month.end,
        **{k: actions[k] for k in ("decide", "approve", "accept", "returned")},
    }
    rows = session.execute(_FIGURES, {**params, "wd_ids": ids, "wd_days": days}).all()
    titles = {k: " ".join(ruleset().titles.get(k, (k, k))) for k in KINDS}
    by_kind: dict[str, Figures] = {}
    by_clerk: list[Figures] = []
    total = Figures(group="total", key=None, label="合计 Total")
    for row in rows:
        if row.g_kind and row.g_clerk:
            total = _figures(row, "total", None, "合计 Total")
        elif not row.g_kind:
            by_kind[row.kind] = _figures(row, "kind", row.kind, titles.get(row.kind, row.kind))
        else:
            label = (row.display_name or row.username) if row.username else "—"
            by_clerk.append(_figures(row, "clerk", row.username, label))
    kinds = [by_kind.get(k) or Figures(group="kind", key=k, label=titles[k]) for k in KINDS]
    by_clerk.sort(key=lambda f: (f.key is None, f.key or ""))
    conv = session.execute(
        _CONVERSIONS,
        {
            "t0": month.start,
            "t1": month.end,
            "approve": actions["approve"],
            "agricultural": AGRICULTURAL,
            "cultivated": CULTIVATED,
            "kinds": list(settings()["monthly"]["conversion_kinds"]),
        },
    ).all()
    conversions = [TownshipConversion(r[0], int(r[1]), float(r[2]), float(r[3])) for r in conv]
    return MonthlyStatistics(month, kinds, by_clerk, total, conversions)
