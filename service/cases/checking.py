"""The one-map check of an application: the one place a check request is built (a drawn or uploaded boundary
before intake, a case's stored boundary, the recheck of every open case) and where a case's check is stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gis.check import CheckReport, CheckRequest, run_check
from gis.check.engine import run_check_batch
from service.cases.records import SYSTEM
from service.cases.workflow import open_states
from service.core.audit import audit
from service.core.errors import InvalidInput
from service.core.models import Case, CheckRun
from service.core.settings import Settings, session_settings

PARALLEL_BATCH_FROM = 200
"""A recheck batch of at least this many cases is split over two connections (the server's cores work at once)."""


def check_request(
    settings: Settings,
    kind: str,
    geometry: BaseGeometry,
    *,
    household_id: str | None = None,
    depth_top: float | None = None,
    depth_bottom: float | None = None,
    lodged_at: datetime | None = None,
    case_id: int | None = None,
    county: str | None = None,
) -> CheckRequest:
    """Return what the check engine needs for an application of this installation (its profile's caps); the cases
    of the map it is weighed against are those of `county` (a GB/T 2260 code; none: of every county)."""
    return CheckRequest(
        kind=kind,
        geometry=geometry,
        household_id=household_id,
        depth_top=depth_top,
        depth_bottom=depth_bottom,
        lodged_at=lodged_at,
        case_id=case_id,
        county=county,
        province=settings.province,
        homestead_caps=settings.profile.caps(),
    )


def case_check_request(session: Session, case: Case, geometry: BaseGeometry | None = None) -> CheckRequest:
    """Return the check request of a case: its facts, its lodging time and its id (the layers of the cases leave it out)."""
    return check_request(
        session_settings(session),
        case.kind,
        geometry if geometry is not None else to_shape(case.geom),
        household_id=case.household_id,
        depth_top=case.depth_top,
        depth_bottom=case.depth_bottom,
        lodged_at=case.received_at,
        case_id=case.id,
        county=case.county,
    )


def preview_check(
    session: Session,
    kind: str,
    geometry: BaseGeometry,
    household_id: str | None = None,
    county: str | None = None,
    depth_top: float | None = None,
    depth_bottom: float | None = None,
) -> CheckReport:
    """Check a boundary before anything is taken in (the intake page's 一张图核查, the online pre-check; against the
    cases of `county` when the clerk works for one); nothing is stored."""
    req = check_request(
        session_settings(session),
        kind,
        geometry,
        household_id=household_id,
        county=county,
        depth_top=depth_top,
        depth_bottom=depth_bottom,
    )
    return run_check(session.connection().connection.driver_connection, req)  # type: ignore[arg-type]


def latest_check(session: Session, case: Case) -> CheckRun | None:
    """Return the case's latest stored check."""
    return session.get(CheckRun, case.latest_check_id) if case.latest_check_id else None


def run_case_check(session: Session, case: Case, actor: str, trigger: str = "boundary") -> CheckRun:
    """Run the one-map check for a case inside the session's transaction and store it as the latest."""
    if case.geom is None:
        raise InvalidInput("案件尚无用地范围 / the case has no boundary yet")
    conn = session.connection().connection.driver_connection  # the psycopg connection of this transaction
    report = run_check(conn, case_check_request(session, case))  # type: ignore[arg-type]
    run = CheckRun(
        case_id=case.id,
        kind=case.kind,
        verdict=report.verdict,
        layer_versions=report.layer_versions,
        report=report.to_dict(),
        trigger=trigger,
    )
    session.add(run)
    session.flush()
    case.latest_check_id = run.id
    audit(session, actor, "check.run", case.id, None, {"check_id": run.id, "verdict": run.verdict, "trigger": trigger})
    return run


@dataclass
class RecheckChange:
    """A case whose verdict differs on today's map."""

    case_id: int
    case_no: str
    before: str | None
    after: str


def stored_boundary_requests(session: Session, cases: Sequence[Case]) -> dict[int, CheckRequest]:
    """Return check requests that read each case's boundary from the cases table (for the batch statement)."""
    settings = session_settings(session)
    return {
        c.id: check_request(
            settings, c.kind, MultiPolygon(), household_id=c.household_id, lodged_at=c.received_at, case_id=c.id
        )
        for c in cases
    }


def _batch_in_parallel(session: Session, conn: Any, kind: str, requests: dict[int, CheckRequest]) -> dict[int, Any]:
    """Check a batch of stored boundaries, half of it on a second pooled connection when the batch is large."""
    bind = session.get_bind()
    if len(requests) < PARALLEL_BATCH_FROM or not isinstance(bind, Engine):
        return run_check_batch(conn, kind, requests)
    ids = list(requests)
    first, second = {i: requests[i] for i in ids[: len(ids) // 2]}, {i: requests[i] for i in ids[len(ids) // 2 :]}

    def other_half() -> dict[int, Any]:
        with bind.connect() as other:
            return run_check_batch(other.connection.driver_connection, kind, second)  # type: ignore[arg-type]

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(other_half)
        reports = run_check_batch(conn, kind, first)
        theirs = pending.result()
    versions = {json.dumps(r.layer_versions, sort_keys=True) for r in (*reports.values(), *theirs.values())}
    # the other connection sees only committed cases, and a re-import may land between the halves: what it
    # missed, or all of it when the layer versions differ, is checked again on this transaction's connection
    redo = {i: r for i, r in second.items() if i not in theirs or len(versions) > 1}
    reports.update({i: r for i, r in theirs.items() if i not in redo})
    if redo:
        reports.update(run_check_batch(conn, kind, redo))
    return reports


def recheck_cases(
    session: Session, cases: Sequence[Case], actor: str, trigger: str, detail: dict[str, Any] | None = None
) -> dict[int, CheckRun]:
    """Re-run the check of cases with a boundary in one statement per kind and store each as the case's latest.

    A large batch is split over two connections (see _batch_in_parallel) only when nothing in this transaction is
    uncommitted that the other connection could miss: a recheck that follows a change (`detail` names it) stays on
    this transaction's connection.
    """
    conn = session.connection().connection.driver_connection
    reports: dict[int, Any] = {}
    for kind in dict.fromkeys(c.kind for c in cases):
        requests = stored_boundary_requests(session, [c for c in cases if c.kind == kind])
        if detail is None:
            reports.update(_batch_in_parallel(session, conn, kind, requests))
        else:
            reports.update(run_check_batch(conn, kind, requests))  # type: ignore[arg-type]
    runs = [
        CheckRun(
            case_id=cid,
            kind=rep.kind,
            verdict=rep.verdict,
            layer_versions=rep.layer_versions,
            report=rep.to_dict(),
            trigger=trigger,
        )
        for cid, rep in reports.items()
    ]
    session.add_all(runs)
    session.flush()
    by_id = {c.id: c for c in cases}
    for run in runs:
        assert run.case_id is not None
        by_id[run.case_id].latest_check_id = run.id
        audit(
            session,
            actor,
            "check.run",
            run.case_id,
            None,
            {"check_id": run.id, "verdict": run.verdict, "trigger": trigger, **(detail or {})},
        )
    session.flush()
    return {run.case_id: run for run in runs if run.case_id is not None}


def recheck_open_cases(session: Session, actor: str = SYSTEM) -> tuple[int, list[RecheckChange]]:
    """Re-run the check of every open case with a boundary against today's layers; return the changed verdicts.

    Every kind is checked in one statement for all its open cases (a mining case is weighed against the
    applications lodged before it by the layer of pending cases, in the same statement).
    """
    cases = session.scalars(
        select(Case).where(Case.status.in_(open_states()), Case.geom.is_not(None)).order_by(Case.id)
    ).all()
    latest = [c.latest_check_id for c in cases if c.latest_check_id]
    before = {r.case_id: r.verdict for r in session.scalars(select(CheckRun).where(CheckRun.id.in_(latest)))}
    after = {cid: run.verdict for cid, run in recheck_cases(session, cases, actor, "recheck").items()}
    return len(cases), [
        RecheckChange(c.id, c.case_no, before.get(c.id), after[c.id]) for c in cases if before.get(c.id) != after[c.id]
    ]
