"""The facts of the documents generated from a case (受理回执, 核查报告, 决定书, 宅基地批准书), state checked; no HTML."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.boundary.export import numbered_rings
from gis.boundary.geometry import as_multipolygon
from gis.check.rules import kind_title
from gis.crs import m2_to_ha, to_gk
from service.access.auth import Principal, session_code_key, verify_query_code
from service.cases.checking import latest_check
from service.cases.figures import case_figures
from service.cases.lookup import normal_query_code
from service.cases.notices import require_latest_notice
from service.cases.views import applicant_facts
from service.cases.workflow import workflow
from service.clocks import case_clocks as clocks
from service.clocks.local_time import local_day_zh, local_minute
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput
from service.core.models import AuditEntry, Case, User
from service.core.profile import CountyProfile
from service.core.settings import session_settings
from service.core.tables import read_table

DOCUMENTS = {
    "notice": "一次性告知书",
    "receipt": "受理回执",
    "check_report": "一张图核查报告",
    "decision": "决定书",
    "certificate": "农村宅基地批准书",
    "planning_permit": "乡村建设规划许可证",
}


def available(case: Case) -> list[str]:
    """Return the documents a case has now (the case page lists them): documents.toml [available]."""
    rules = texts()["available"]
    out = ["receipt"]
    if case.latest_check_id is not None:
        out.append("check_report")
    if case.decided_at is not None:
        out.append("decision")
    if case.kind in rules["certificate_kinds"] and case.status in rules["certificate_states"]:
        out.append("certificate")
    if case.kind in rules["certificate_kinds"] and case.status in rules["permit_states"]:
        out.append("planning_permit")
    return out


@cache
def texts() -> dict[str, Any]:
    """Return the documents' fixed texts and legal references (service/data/documents.toml)."""
    return read_table("documents.toml")


def _local(t: datetime | None) -> str:
    return local_day_zh(t)


def _local_time(t: datetime | None) -> str:
    return local_minute(t)


_VERIFY = re.compile(r"\s*\[verify\]\s*", re.IGNORECASE)


def printable(text: str | None) -> str:
    """Return a data text as printed for the applicant: without the data's `[verify]` notes to its maintainers."""
    return _VERIFY.sub(" ", text or "").strip()


def _printed_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "basis": printable(r.get("basis")), "message": printable(r.get("message"))} for r in rules]


def _seq(case: Case) -> str:
    # XA-2026-ZJ-000001 → ZJ-000001
    return "-".join(case.case_no.split("-")[-2:])


def _year(case: Case) -> int:
    return case.received_at.astimezone(clocks.LOCAL_TZ).year


def _profile(session: Session) -> CountyProfile:
    return session_settings(session).profile


def _display_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return (user.display_name or user.username) if user else ""


def signature(session: Session, document: str, clerk_id: int | None, date: str) -> dict[str, Any]:
    """Return how a document is signed: the profile's bureau, and for window documents the window and the clerk."""
    offices = _profile(session).offices
    how = texts()["signatures"][document]
    window = bool(how.get("window", False))
    return {
        "office": offices.bureau,
        "window": offices.window if window else None,
        "clerk": _display_name(session, clerk_id) if window else None,
        "seal": bool(how.get("seal", False)),
        "date": date,
    }


def _facts(session: Session, case: Case) -> dict[str, Any]:
    kind = texts()["kinds"][case.kind]
    offices = _profile(session).offices
    return {
        "case_no": case.case_no,
        "kind": case.kind,
        "kind_title": kind_title(case.kind),
        "kind_title_en": kind_title(case.kind, "en"),
        "status": case.status,
        "status_title": workflow().state_title(case.status),
        **applicant_facts(case),
        "area_m2": case.area_m2,
        "area_ha": m2_to_ha(case.area_m2) if case.area_m2 is not None else None,
        "received_at": _local_time(case.received_at),
        "received_date": _local(case.received_at),
        "clerk": _display_name(session, case.received_by),
        "issuer": offices.bureau,
        "window": offices.window,
        "county": _profile(session).name,
        "basis": kind["basis"],
    }


Viewer = Principal | str
"""Who reads a document: a member of staff, or the audit name of an applicant (`applicant:<case number>`)."""


def _actor(viewer: Viewer) -> str:
    return viewer if isinstance(viewer, str) else viewer.actor


def _viewed(session: Session, viewer: Viewer, case: Case, document: str) -> None:
    audit(session, _actor(viewer), "document.view", case.id, None, {"document": document})


def notice(session: Session, actor: Viewer, case: Case) -> dict[str, Any]:
    """Return the latest one-time notice of a case as printed (NotFound when none was issued); the reading is audited.
    It is signed like the receipt: the office's name and the issuing clerk's own name, on the Beijing date."""
    issued = require_latest_notice(session, case)
    audit(session, _actor(actor), "notice.view", case.id, None, {"notice_id": issued.id})
    content = dict(issued.content)
    content["findings"] = _printed_rules(content.get("findings", []))
    issued_on = local_day_zh(content.get("issued_at"))
    return {
        "n": content,
        "issued": issued_on,
        "kind_title": kind_title(case.kind),
        "sign": signature(session, "notice", issued.created_by, issued_on),
    }


def receipt(session: Session, actor: Viewer, case: Case, query_code: str | None = None) -> dict[str, Any]:
    """Return the acceptance receipt; the query code is printed only when given and it matches the stored hash."""
    if query_code is not None:
        query_code = normal_query_code(query_code)
        if not verify_query_code(case.query_code_hash, query_code, session_code_key(session)):
            raise InvalidInput(
                f"查询码与案件 {case.case_no} 不符 / the query code does not belong to case {case.case_no}"
            )
    view = clocks.view(case)
    _viewed(session, actor, case, "receipt")
    return {
        **_facts(session, case),
        "sign": signature(session, "receipt", case.received_by, _local(case.received_at)),
        "query_code": query_code,
        "received": [m.name for m in case.materials if m.received],
        "missing": [m.name for m in case.materials if m.required and not m.received],
        "checklist": [
            {"name": m.name, "received": m.received, "required": m.required}
            for m in case.materials
            if m.received or m.required
        ],
        "promised_due": local_minute(view["promised"]["due"]),
        "statutory_due": local_minute(view["statutory"]["due"]),
        "provisional": bool(view["statutory"]["provisional"]),
        "green_channel": case.green_channel,
    }


def _conflicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    # warnings first, blocks last, so a block is drawn above a warning on the same ground
    rules = sorted(report.get("rules", []), key=lambda r: r["status"] == "block")
    return [
        {"geometry": r["geometry"], "status": r["status"], "rule": r["rule"], "title": r["title"]}
        for r in rules
        if r["status"] != "pass" and r.get("geometry")
    ]


def check_report(session: Session, actor: Viewer, case: Case) -> dict[str, Any]:
    """Return the latest stored one-map check of the case with its conflicts for the map."""
    run = latest_check(session, case)
    if run is None:
        raise Conflict(
            f"案件 {case.case_no} 尚未进行一张图核查 / case {case.case_no} has not been checked on the one map yet"
        )
    report = {**run.report, "rules": _printed_rules(run.report["rules"])}
    _viewed(session, actor, case, "check_report")
    return {
        **_facts(session, case),
        "check_id": run.id,
        "checked_at": _local_time(run.created_at),
        "sign": signature(session, "check_report", None, _local(run.created_at)),
        "trigger": run.trigger,
        "report": report,
        "blocking": [r for r in report["rules"] if r["status"] == "block"],
        "warnings": [r for r in report["rules"] if r["status"] == "warn"],
        "conflicts": _conflicts(report),
        "override": case.check_override,
        "figures": case_figures(session, case.id, run.report),
    }


def _decisive(session: Session, case: Case) -> tuple[str, AuditEntry] | None:
    """Return the transition that decided the case (approve, reject or refuse) and its audit entry."""
    kind = workflow().kind(case.kind)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id == case.id, AuditEntry.action.like("transition.%"))
        .order_by(AuditEntry.id.desc())
    )
    for e in entries:
        name = e.action.split(".", 1)[1]
        t = kind.get(name)
        if t is not None and t.decides:
            return name, e
    return None


def decision(session: Session, actor: Viewer, case: Case) -> dict[str, Any]:
    """Return the decision (准予 / 不予许可, 不予受理) of a decided case; 409 while it is undecided."""
    found = _decisive(session, case)
    if found is None:
        state = workflow().state_title(case.status)
        raise Conflict(
            f"案件 {case.case_no} 尚未作出决定（当前状态：{state}），不能出具决定书 / "
            f"case {case.case_no} has not been decided yet (state {case.status}); no decision can be issued"
        )
    name, entry = found
    outcome = texts()["outcomes"][name]
    run = latest_check(session, case)
    profile = _profile(session)
    decided = _local(case.decided_at or entry.at)
    _viewed(session, actor, case, "decision")
    return {
        **_facts(session, case),
        "sign": signature(session, "decision", None, decided),
        "outcome": name,
        "title": outcome["title"],
        "title_en": outcome["title_en"],
        "outcome_basis": outcome["basis"],
        "number": profile.documents.decision_number.format(year=_year(case), seq=_seq(case)),
        "decided_date": decided,
        "reason": entry.detail,
        "approve_text": texts()["kinds"][case.kind]["approve"],
        "reconsideration": profile.reconsideration(),
        "reconsideration_en": profile.reconsideration("en"),
        "blocking": _printed_rules([r for r in run.report["rules"] if r["status"] == "block"]) if run else [],
        "approval_level": run.report.get("approval_level") if run else None,
    }


def certificate(session: Session, actor: Viewer, case: Case) -> dict[str, Any]:
    """Return the homestead approval certificate (农村宅基地批准书); 409 unless an approved homestead case."""
    if case.kind != "homestead":
        raise Conflict(
            f"案件 {case.case_no} 不是宅基地申请，没有宅基地批准书 / case {case.case_no} is not a homestead application; "
            "only homestead cases have an approval certificate"
        )
    found = _decisive(session, case)
    if found is None or found[0] != "approve" or case.geom is None:
        state = workflow().state_title(case.status)
        raise Conflict(
            f"案件 {case.case_no} 未获批准（当前状态：{state}），不能出具宅基地批准书 / "
            f"case {case.case_no} has not been approved (state {case.status}); no homestead certificate can be issued"
        )
    geometry, zone = to_gk(to_shape(case.geom))
    points: list[dict[str, Any]] = []
    for ring in numbered_rings(as_multipolygon(geometry)):
        for x, y in ring:
            points.append(
                {"no": f"J{len(points) + 1}", "x": round(y, 3), "y": round(x, 3)}
            )  # survey order: X north, Y east
    run = latest_check(session, case)
    landuse = run.report.get("landuse", []) if run else []
    homestead = run.report.get("homestead") if run else None
    approved = _local(case.decided_at or found[1].at)
    _viewed(session, actor, case, "certificate")
    return {
        **_facts(session, case),
        "sign": signature(session, "certificate", None, approved),
        "number": _profile(session).documents.certificate_number.format(year=_year(case), seq=_seq(case)),
        "approved_date": approved,
        "points": points,
        "zone": zone,
        "landuse": landuse,
        "homestead": homestead,
        "certificate_basis": texts()["kinds"]["homestead"]["certificate_basis"],
    }


def decision_summary(session: Session, case: Case) -> dict[str, Any] | None:
    """Return what an applicant is told of a decided case: the outcome, the reason, the date, the routes of appeal
    and the documents they may download; None while undecided."""
    found = _decisive(session, case)
    if found is None:
        return None
    name, entry = found
    outcome = texts()["outcomes"][name]
    docs = ["decision"] + (["certificate"] if "certificate" in available(case) else [])
    return {
        "outcome": name,
        "title": outcome["title"],
        "title_en": outcome["title_en"],
        "reason": entry.detail,
        "decided_at": (case.decided_at or entry.at).isoformat(),
        "appeal": _profile(session).reconsideration() if name != "approve" else None,
        "appeal_en": _profile(session).reconsideration("en") if name != "approve" else None,
        "documents": docs,
    }


APPLICANT_DOCUMENTS = {"decision": decision, "certificate": certificate}
"""The documents an applicant downloads with the query code."""


def for_applicant(session: Session, case: Case, document: str) -> dict[str, Any]:
    """Return a document of the applicant's own case (the reading audited as `applicant:<case number>`)."""
    if document not in APPLICANT_DOCUMENTS:
        raise InvalidInput(f"未知文书 {document} / unknown document {document!r}: {' | '.join(APPLICANT_DOCUMENTS)}")
    return APPLICANT_DOCUMENTS[document](session, f"applicant:{case.case_no}", case)


def planning_permit(session: Session, actor: Principal, case: Case) -> dict[str, Any]:
    """Return the rural construction planning permit (乡村建设规划许可证) issued beside the homestead certificate;
    409 until the certificate has been issued."""
    issued = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id == case.id, AuditEntry.action == "transition.issue_certificate")
        .order_by(AuditEntry.id.desc())
    ).first()
    if case.kind != "homestead" or issued is None or case.status not in texts()["available"]["permit_states"]:
        state = workflow().state_title(case.status)
        raise Conflict(
            f"案件 {case.case_no} 尚未核发乡村建设规划许可证（当前状态：{state}）/ no rural construction planning permit "
            f"has been issued on case {case.case_no} (state {case.status})"
        )
    kind = texts()["kinds"]["homestead"]
    run = latest_check(session, case)
    issued_on = _local(issued.at)
    number = texts()["planning_permit_number"].format(
        admin_code=_profile(session).admin_code, year=_year(case), seq=_seq(case).replace("-", "")
    )
    _viewed(session, actor, case, "planning_permit")
    return {
        **_facts(session, case),
        "sign": signature(session, "planning_permit", None, issued_on),
        "number": number,
        "issued_date": issued_on,
        "homestead": run.report.get("homestead") if run else None,
        "permit_basis": kind["permit_basis"],
        "permit_terms": kind["permit_terms"],
        "permit_terms_en": kind["permit_terms_en"],
    }
