"""Conversions of farmland (农用地转用) for planners: the approved and pending ones, and an audit against today's map.

A conversion is a case of a converting kind (statistics.toml `conversion_kinds`) whose stored check found 农用地
under its boundary. *Approved* means the audit log holds an approving transition (the stored check is then the map
the decision was made on: a recheck only touches open cases); *pending* means the case is still open. Figures come
from the stored check reports, never from today's layers — except in the audit, which re-runs today's map against
every approved conversion and lists where it disagrees.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from gis.catalog import case_layers
from gis.check.engine import run_check_batch
from gis.check.rules import kind_title
from gis.crs import m2_to_mu
from gis.landuse import AGRICULTURAL, CONSTRUCTION, UNUSED, classes, groups
from service.cases.checking import check_request
from service.cases.workflow import open_states
from service.clocks.calendar import LOCAL_TZ
from service.clocks.local_time import local_minute
from service.core.errors import InvalidInput
from service.core.personal import mask_name
from service.core.settings import session_settings
from service.core.spreadsheets import csv_text, safe_row
from service.reports.statistics import CULTIVATED, settings, transition_actions

_CLASS = re.compile(r"^\d{2}(\d{2})?$")
CATEGORIES = (AGRICULTURAL, CONSTRUCTION, UNUSED)
AREA_TOLERANCE_M2 = 1.0


@cache
def land_classes() -> list[tuple[str, str, str]]:
    """Return the first-level GB/T 21010 classes holding 农用地, as (code, name, English name), for the filter."""
    names = groups()
    codes = {c.parent.partition(" ")[0] for c in classes().values() if c.category == AGRICULTURAL and c.parent}
    return [(code, *names.get(code, (code, code))) for code in sorted(codes)]


@dataclass(frozen=True)
class ConversionFilter:
    """What the planner narrows the list to: township, period (approval date, or intake date while pending), land class."""

    township: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    land_class: str | None = None
    state: str | None = None

    @classmethod
    def parse(
        cls,
        township: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        land_class: str | None = None,
        state: str | None = None,
    ) -> ConversionFilter:
        """Build a filter from query strings; InvalidInput naming the field that is wrong."""

        def day(value: str | None, name: str) -> date | None:
            if not value or not value.strip():
                return None
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise InvalidInput(
                    f"{name} 应为日期 YYYY-MM-DD（收到 {value!r}）/ {name} must be a date YYYY-MM-DD (got {value!r})"
                ) from None

        lc = (land_class or "").strip() or None
        if lc is not None and not _CLASS.match(lc) and lc not in CATEGORIES:
            raise InvalidInput(
                f"land_class 应为地类编码（如 01、0101）或 农用地/建设用地/未利用地（收到 {lc!r}）/ "
                f"land_class must be a GB/T 21010 code such as 01 or 0101, or a category (got {lc!r})"
            )
        st = (state or "").strip() or None
        if st not in (None, "approved", "pending"):
            raise InvalidInput(
                f"state 应为 approved 或 pending（收到 {st!r}）/ state must be approved or pending (got {st!r})"
            )
        f = cls((township or "").strip() or None, day(date_from, "from"), day(date_to, "to"), lc, st)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise InvalidInput(
                f"起始日期 {f.date_from} 晚于截止日期 {f.date_to} / from {f.date_from} is after to {f.date_to}"
            )
        return f

    def as_query(self) -> dict[str, str]:
        """Return the filter as query parameters (for links and downloads)."""
        q = {
            "township": self.township,
            "from": self.date_from and self.date_from.isoformat(),
            "to": self.date_to and self.date_to.isoformat(),
            "land_class": self.land_class,
            "state": self.state,
        }
        return {k: v for k, v in q.items() if v}


@dataclass
class Conversion:
    """One approved or pending conversion, with the figures of its stored check."""

    case_id: int
    case_no: str
    kind: str
    status: str
    state: str
    county: str
    township: str | None
    village: str | None
    applicant: str | None
    received_at: datetime
    approved_at: datetime | None
    area_m2: float
    agricultural_m2: float
    cultivated_m2: float
    class_m2: float | None
    check_id: int
    checked_at: datetime
    verdict: str
    layer_versions: dict[str, int]
    geometry: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (dates as ISO text)."""
        out = asdict(self)
        for k in ("received_at", "approved_at", "checked_at"):
            out[k] = out[k].isoformat() if out[k] else None
        out["agricultural_mu"] = round(m2_to_mu(self.agricultural_m2), 2)
        out["cultivated_mu"] = round(m2_to_mu(self.cultivated_m2), 2)
        return out


STATES = ("approved", "pending", "all")


def _sums(rows: list[Conversion]) -> dict[str, float]:
    agr = sum(r.agricultural_m2 for r in rows)
    cult = sum(r.cultivated_m2 for r in rows)
    cls_ = sum(r.class_m2 or 0.0 for r in rows)
    return {
        "cases": len(rows),
        "agricultural_m2": round(agr, 2),
        "agricultural_mu": round(m2_to_mu(agr), 2),
        "cultivated_m2": round(cult, 2),
        "cultivated_mu": round(m2_to_mu(cult), 2),
        "class_m2": round(cls_, 2),
        "class_mu": round(m2_to_mu(cls_), 2),
    }


@dataclass
class ConversionList:
    """The filtered conversions and their totals of 农用地 and 耕地, approved and pending apart."""

    filter: ConversionFilter
    rows: list[Conversion]

    def totals(self) -> dict[str, dict[str, float]]:
        """Return m² and mu of 农用地 and 耕地 (and the filtered class) per state and overall."""
        return {state: _sums([r for r in self.rows if state in ("all", r.state)]) for state in STATES}

    def totals_by_county(self) -> dict[str, dict[str, dict[str, float]]]:
        """Return the totals of each county (GB/T 2260 code) the list holds: a province's or city's planner reads
        every county side by side."""
        counties = sorted({r.county for r in self.rows})
        return {
            county: {
                state: _sums([r for r in self.rows if r.county == county and state in ("all", r.state)])
                for state in STATES
            }
            for county in counties
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready list with totals."""
        return {
            "filter": self.filter.as_query(),
            "totals": self.totals(),
            "totals_by_county": self.totals_by_county(),
            "conversions": [r.to_dict() for r in self.rows],
        }

    def table(self) -> list[list[Any]]:
        """Return the list as rows of cells with a bilingual header: Beijing times, kinds and states by their
        Chinese titles, areas to the square metre and the mu (what the CSV and XLSX downloads hold)."""
        header = [
            "案件编号 Case",
            "类型 Kind",
            "状态 State",
            "乡镇 Township",
            "村 Village",
            "申请人 Applicant",
            "收件时间 Received",
            "批准时间 Approved",
            "用地面积㎡ Area m²",
            "农用地㎡ Farmland m²",
            "农用地亩 Farmland mu",
            "耕地㎡ Cultivated m²",
            "耕地亩 Cultivated mu",
            "核查记录 Check",
        ]
        titles = {"approved": "已批准", "pending": "在办"}
        rows = [
            [
                r.case_no,
                kind_title(r.kind),
                titles[r.state],
                r.township or "",
                r.village or "",
                r.applicant or "",
                local_minute(r.received_at),
                local_minute(r.approved_at),
                round(r.area_m2, 2),
                round(r.agricultural_m2, 2),
                round(m2_to_mu(r.agricultural_m2), 4),
                round(r.cultivated_m2, 2),
                round(m2_to_mu(r.cultivated_m2), 4),
                r.check_id,
            ]
            for r in self.rows
        ]
        return [header, *rows]

    def csv_text(self) -> str:
        """Return the list as CSV, cells made safe for spreadsheets (the caller adds the BOM a spreadsheet needs)."""
        return csv_text(self.table())

    def xlsx_bytes(self) -> bytes:
        """Return the list as an Excel workbook (one sheet, the header bold and frozen)."""
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "农用地转用 Conversions"
        for row in self.table():
            ws.append(safe_row(row))  # townships, villages and applicants typed by clerks: never a formula
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "B2"
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def geojson(self) -> dict[str, Any]:
        """Return the conversions as a FeatureCollection for the map (no personal data beyond the masked name)."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": r.geometry,
                    "properties": {
                        "case_no": r.case_no,
                        "state": r.state,
                        "kind": r.kind,
                        "township": r.township or "",
                        "agricultural_m2": round(r.agricultural_m2, 2),
                        "cultivated_m2": round(r.cultivated_m2, 2),
                    },
                }
                for r in self.rows
            ],
        }


_CONVERSIONS = text("""
WITH approvals AS (
    SELECT case_id, max(at) AS approved_at FROM audit_log WHERE action = ANY(:approve) GROUP BY case_id
), conv AS (
    SELECT c.id, c.case_no, c.kind, c.status, c.county, c.township, c.village, c.applicant_name, c.applicant_type,
           c.received_at, a.approved_at, r.id AS check_id, r.created_at AS checked_at, r.verdict, r.layer_versions,
           (r.report->>'area_m2')::float8 AS area_m2,
           coalesce((r.report->'categories'->>:agricultural)::float8, 0) AS agr,
           coalesce((r.report->'categories'->>:cultivated)::float8, 0) AS cult,
           (SELECT sum((l->>'area_m2')::float8) FROM jsonb_array_elements(r.report->'landuse') l
             WHERE l->>'code' LIKE :land_class || '%' OR l->>'category' = :land_class) AS class_m2,
           ST_AsGeoJSON(c.geom, 9) AS geometry,
           CASE WHEN a.approved_at IS NOT NULL THEN 'approved' ELSE 'pending' END AS state
    FROM cases c
    JOIN check_runs r ON r.id = c.latest_check_id
    LEFT JOIN approvals a ON a.case_id = c.id
    WHERE c.kind = ANY(:kinds) AND c.geom IS NOT NULL
      AND (a.approved_at IS NOT NULL OR c.status = ANY(:open))
)
SELECT * FROM conv
WHERE agr > 0
  AND (CAST(:county AS text) IS NULL OR county = :county)
  AND (CAST(:township AS text) IS NULL OR township = :township)
  AND (CAST(:state AS text) IS NULL OR state = :state)
  AND (CAST(:t0 AS timestamptz) IS NULL OR coalesce(approved_at, received_at) >= :t0)
  AND (CAST(:t1 AS timestamptz) IS NULL OR coalesce(approved_at, received_at) < :t1)
  AND (CAST(:land_class AS text) IS NULL OR class_m2 > 0)
ORDER BY coalesce(approved_at, received_at) DESC, id DESC
""").bindparams(
    bindparam("kinds", type_=ARRAY(Text)), bindparam("approve", type_=ARRAY(Text)), bindparam("open", type_=ARRAY(Text))
)


def _start(d: date | None) -> datetime | None:
    return datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ) if d else None


def list_conversions(session: Session, f: ConversionFilter | None = None, county: str | None = None) -> ConversionList:
    """Return the approved and pending conversions of farmland that match the filter, newest first; of one county
    (GB/T 2260 code) when `county` is given (a county's planner), else of every county the instance holds."""
    f = f or ConversionFilter()
    params = {
        "county": county,
        "kinds": list(settings()["monthly"]["conversion_kinds"]),
        "approve": transition_actions()["approve"],
        "open": list(open_states()),
        "agricultural": AGRICULTURAL,
        "cultivated": CULTIVATED,
        "township": f.township,
        "state": f.state,
        "land_class": f.land_class,
        "t0": _start(f.date_from),
        "t1": _start(f.date_to + timedelta(days=1)) if f.date_to else None,
    }
    rows = []
    for r in session.execute(_CONVERSIONS, params).mappings():
        applicant = r["applicant_name"] if r["applicant_type"] == "unit" else mask_name(r["applicant_name"])
        rows.append(
            Conversion(
                case_id=r["id"],
                case_no=r["case_no"],
                kind=r["kind"],
                status=r["status"],
                state=r["state"],
                county=r["county"],
                township=r["township"],
                village=r["village"],
                applicant=applicant,
                received_at=r["received_at"],
                approved_at=r["approved_at"],
                area_m2=float(r["area_m2"] or 0),
                agricultural_m2=float(r["agr"]),
                cultivated_m2=float(r["cult"]),
                class_m2=None if f.land_class is None else float(r["class_m2"] or 0),
                check_id=r["check_id"],
                checked_at=r["checked_at"],
                verdict=r["verdict"],
                layer_versions=dict(r["layer_versions"] or {}),
                geometry=json.loads(r["geometry"]),
            )
        )
    return ConversionList(f, rows)


def townships(session: Session) -> list[str]:
    """Return the townships named on cases, for the filter."""
    return list(
        session.scalars(text("SELECT DISTINCT township FROM cases WHERE coalesce(township, '') <> '' ORDER BY 1"))
    )


# -- the audit: today's map against every approved conversion ------------------------------------------------------


@dataclass
class RuleChange:
    """One rule whose status or overlap differs between the stored check and today's map."""

    rule: str
    title: str
    stored_status: str
    today_status: str
    stored_m2: float
    today_m2: float


@dataclass
class AuditRow:
    """An approved conversion re-checked against today's map."""

    conversion: Conversion
    stored_verdict: str
    today_verdict: str
    today_agricultural_m2: float
    today_cultivated_m2: float
    today_versions: dict[str, int]
    changes: list[RuleChange]

    @property
    def disagrees(self) -> bool:
        """Return whether today's map tells a different story (a rule or the farmland figures changed)."""
        return (
            bool(self.changes)
            or self.today_verdict != self.stored_verdict
            or abs(self.today_agricultural_m2 - self.conversion.agricultural_m2) > AREA_TOLERANCE_M2
            or abs(self.today_cultivated_m2 - self.conversion.cultivated_m2) > AREA_TOLERANCE_M2
        )

    @property
    def changed_layers(self) -> list[str]:
        """Return the layers re-imported since the decision (the layers of the cases change with every case)."""
        stored = self.conversion.layer_versions
        return sorted(k for k, v in self.today_versions.items() if stored.get(k) != v and k not in case_layers())

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready row."""
        c = self.conversion
        return {
            "case_no": c.case_no,
            "kind": c.kind,
            "township": c.township,
            "approved_at": c.approved_at.isoformat() if c.approved_at else None,
            "check_id": c.check_id,
            "stored_verdict": self.stored_verdict,
            "today_verdict": self.today_verdict,
            "stored_versions": c.layer_versions,
            "today_versions": self.today_versions,
            "changed_layers": self.changed_layers,
            "stored_agricultural_m2": round(c.agricultural_m2, 2),
            "today_agricultural_m2": round(self.today_agricultural_m2, 2),
            "stored_cultivated_m2": round(c.cultivated_m2, 2),
            "today_cultivated_m2": round(self.today_cultivated_m2, 2),
            "disagrees": self.disagrees,
            "changes": [asdict(ch) for ch in self.changes],
        }


@dataclass
class ConversionAudit:
    """Every approved conversion (of the filter) with today's map's view of it."""

    filter: ConversionFilter
    rows: list[AuditRow]
    run_at: datetime

    @property
    def disagreements(self) -> list[AuditRow]:
        """Return the rows where today's map disagrees."""
        return [r for r in self.rows if r.disagrees]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready audit."""
        return {
            "filter": self.filter.as_query(),
            "run_at": self.run_at.isoformat(),
            "cases": len(self.rows),
            "disagreements": len(self.disagreements),
            "rows": [r.to_dict() for r in self.rows],
        }

    def csv_text(self) -> str:
        """Return the audit as CSV, one row per approved conversion (cells made safe for spreadsheets)."""
        rows: list[list[Any]] = [
            [
                "案件编号 case_no",
                "类型 kind",
                "乡镇 township",
                "批准时间 approved_at",
                "核查记录 check_id",
                "原结论 stored_verdict",
                "今日结论 today_verdict",
                "原农用地㎡ stored_agricultural_m2",
                "今日农用地㎡ today_agricultural_m2",
                "原耕地㎡ stored_cultivated_m2",
                "今日耕地㎡ today_cultivated_m2",
                "原图层版本 stored_versions",
                "更新的图层 changed_layers",
                "不一致 disagrees",
                "变化的规则 changed_rules",
            ]
        ]
        for r in self.rows:
            d = r.to_dict()
            rows.append(
                [
                    d["case_no"],
                    kind_title(d["kind"]),
                    d["township"] or "",
                    local_minute(r.conversion.approved_at),
                    d["check_id"],
                    d["stored_verdict"],
                    d["today_verdict"],
                    d["stored_agricultural_m2"],
                    d["today_agricultural_m2"],
                    d["stored_cultivated_m2"],
                    d["today_cultivated_m2"],
                    json.dumps(d["stored_versions"], sort_keys=True),
                    " ".join(d["changed_layers"]),
                    "是 yes" if r.disagrees else "否 no",
                    "; ".join(
                        f"{c.rule} {c.stored_status}→{c.today_status} {c.stored_m2:.2f}→{c.today_m2:.2f}㎡"
                        for c in r.changes
                    ),
                ]
            )
        return csv_text(rows)

    def gpkg_bytes(self) -> bytes:
        """Return the audit as a GeoPackage: each approved conversion's boundary with the audit's attributes."""
        import geopandas as gpd
        from shapely.geometry import shape

        records, geoms = [], []
        for r in self.rows:
            d = r.to_dict()
            records.append(
                {
                    "case_no": d["case_no"],
                    "kind": d["kind"],
                    "township": d["township"] or "",
                    "approved_at": d["approved_at"],
                    "check_id": d["check_id"],
                    "stored_verdict": d["stored_verdict"],
                    "today_verdict": d["today_verdict"],
                    "stored_agr_m2": d["stored_agricultural_m2"],
                    "today_agr_m2": d["today_agricultural_m2"],
                    "stored_cult_m2": d["stored_cultivated_m2"],
                    "today_cult_m2": d["today_cultivated_m2"],
                    "stored_versions": json.dumps(d["stored_versions"], sort_keys=True),
                    "changed_layers": " ".join(d["changed_layers"]),
                    "disagrees": r.disagrees,
                    "changed_rules": "; ".join(f"{c.rule} {c.stored_status}->{c.today_status}" for c in r.changes),
                }
            )
            geoms.append(shape(r.conversion.geometry))  # stored as MULTIPOLYGON
        frame = gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:4490")
        with tempfile.TemporaryDirectory(prefix="landwindow-export-") as tmp:
            path = Path(tmp) / "conversion_audit.gpkg"
            frame.to_file(path, layer="conversion_audit", driver="GPKG", engine="pyogrio")
            return path.read_bytes()


@cache
def _ignored_rules() -> frozenset[str]:
    return frozenset(settings().get("conversion_audit", {}).get("ignore_rules", []))


def audit_conversions(
    session: Session, f: ConversionFilter | None = None, county: str | None = None
) -> ConversionAudit:
    """Re-run today's map against every approved conversion (one statement per kind) and compare with its stored check."""
    f = replace(f or ConversionFilter(), state="approved")
    listed = list_conversions(session, f, county)
    stored = {
        r.id: r.report
        for r in session.execute(
            text("SELECT id, report FROM check_runs WHERE id = ANY(:ids)"), {"ids": [c.check_id for c in listed.rows]}
        )
    }
    conn = session.connection().connection.driver_connection
    today: dict[int, Any] = {}
    settings = session_settings(session)
    for kind in sorted({c.kind for c in listed.rows}):
        # the boundary is read from the cases table by the batch statement (the approved case's own)
        requests = {c.case_id: check_request(settings, kind, MultiPolygon()) for c in listed.rows if c.kind == kind}
        today.update(run_check_batch(conn, kind, requests))  # type: ignore[arg-type]
    rows = []
    ignored = _ignored_rules()
    for c in listed.rows:
        rep = today[c.case_id]
        before = {r["rule"]: r for r in stored[c.check_id]["rules"]}
        changes = []
        for now in rep.rules:
            if now.rule in ignored:
                continue
            was = before.get(now.rule)
            if was is None and now.status == "pass":
                continue  # a rule added since the decision, which today's map does not trip
            was_status, was_m2 = (was["status"], float(was.get("overlap_m2") or 0)) if was else ("—", 0.0)
            if was_status != now.status or abs(was_m2 - now.overlap_m2) > AREA_TOLERANCE_M2:
                changes.append(
                    RuleChange(now.rule, now.title, was_status, now.status, round(was_m2, 2), round(now.overlap_m2, 2))
                )
        stored_verdict = _verdict([r["status"] for r in before.values() if r["rule"] not in ignored], c.verdict)
        verdict = _verdict([r.status for r in rep.rules if r.rule not in ignored], rep.verdict)
        rows.append(
            AuditRow(
                c,
                stored_verdict,
                verdict,
                float(rep.categories.get(AGRICULTURAL, 0.0)),
                float(rep.categories.get(CULTIVATED, 0.0)),
                dict(rep.layer_versions),
                changes,
            )
        )
    return ConversionAudit(f, rows, datetime.now(LOCAL_TZ))


def _verdict(statuses: list[str], fallback: str) -> str:
    # the engine's rule: the most severe status of the rules; the audit leaves the ignored rules out on both sides
    return "block" if "block" in statuses else "warn" if "warn" in statuses else "pass" if statuses else fallback
