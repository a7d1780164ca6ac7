"""Mining rights after grant: an approved mining case becomes a valid right of the mining_rights layer, and
renewal, change, transfer and cancellation (延续 / 变更 / 转让 / 注销) change it, each step kept in its history.

These are the effects of the mining workflow's transitions (workflow.toml `effects`); the right carries its case
number in `props`, its history is mining_right_events. Terms and the licence number's pattern are in
service/data/mining.toml.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.check.rules import ruleset
from gis.importer import county_partition
from service.cases import records
from service.clocks.calendar import LOCAL_TZ
from service.core.errors import Conflict, InvalidInput
from service.core.models import Case, MiningRightEvent
from service.core.tables import read_table

LAYER = "mining_rights"
RIGHT_COLUMNS = ("licence_no", "holder", "kind", "mineral", "depth_top", "depth_bottom", "valid_from", "valid_to")
TRANSITIONS = {"renew": "renew_right", "change": "change_right", "transfer": "transfer_right", "cancel": "cancel_right"}
"""The workflow's transition (workflow.toml) of each change of a granted right."""
ACTIONS = {
    "grant": ("授予", "granted"),
    "renew": ("延续", "renewed"),
    "change": ("变更", "changed"),
    "transfer": ("转让", "transferred"),
    "cancel": ("注销", "cancelled"),
}


@dataclass(frozen=True)
class RightChange:
    """The new facts a renewal, change or transfer brings (a cancellation brings only its reason)."""

    valid_to: date | None = None
    holder: str | None = None
    mineral: str | None = None
    depth_top: float | None = None
    depth_bottom: float | None = None


@cache
def terms() -> dict[str, Any]:
    """Return the terms of rights granted here (service/data/mining.toml)."""
    return read_table("mining.toml")


def _day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


_RIGHT = text(
    "SELECT id, licence_no, holder, kind, mineral, depth_top, depth_bottom, valid_from, valid_to, props "
    "FROM mining_rights WHERE props->>'case_no' = :case_no ORDER BY id DESC LIMIT 1"
)


def right_of(session: Session, case: Case, lock: bool = False) -> dict[str, Any] | None:
    """Return the right granted on a mining case (its facts and props), or None."""
    stmt = text(_RIGHT.text + (" FOR UPDATE" if lock else ""))
    row = session.execute(stmt, {"case_no": case.case_no}).mappings().first()
    return dict(row) if row else None


def history(session: Session, licence_no: str) -> list[MiningRightEvent]:
    """Return a right's history, oldest first."""
    return list(
        session.scalars(
            select(MiningRightEvent).where(MiningRightEvent.licence_no == licence_no).order_by(MiningRightEvent.id)
        )
    )


def _facts(right: dict[str, Any]) -> dict[str, Any]:
    return _json({k: right[k] for k in RIGHT_COLUMNS})


def _record(
    session: Session,
    actor: str,
    case: Case,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    reason: str | None,
    at: datetime,
) -> None:
    session.add(
        MiningRightEvent(
            licence_no=after["licence_no"],
            case_id=case.id,
            action=action,
            before=before,
            after=after,
            reason=reason,
            actor=actor,
            at=at,
        )
    )


def _next_licence(session: Session, year: int, county: str) -> str:
    seq = session.execute(
        text(
            "INSERT INTO case_counters (kind, year, last) VALUES ('licence:mining', :year, 1) "
            "ON CONFLICT (kind, year) DO UPDATE SET last = case_counters.last + 1 RETURNING last"
        ),
        {"year": year},
    ).scalar_one()
    return str(terms()["licence_pattern"]).format(admin_code=county, year=year, seq=int(seq))


def grant(session: Session, actor: str, case: Case, details: Any, at: datetime, reason: str | None) -> set[str]:
    """Make the approved mining case a valid right in mining_rights, from the day of the decision."""
    if right_of(session, case) is not None:
        raise Conflict(f"案件 {case.case_no} 已设采矿权 / case {case.case_no} already holds a mining right")
    if case.geom is None:
        raise Conflict(f"案件 {case.case_no} 没有矿区范围 / case {case.case_no} has no mining area")
    day = _day(at)
    licence_no = _next_licence(session, day.year, case.county)
    # the right goes into the partition of the case's county (the first right of a county makes it)
    county_partition(session.connection().connection.driver_connection, LAYER, case.county)  # type: ignore[arg-type]
    valid_to = _years_later(day, int(terms()["term_years"])) - timedelta(days=1)
    row = (
        session.execute(
            text(
                "INSERT INTO mining_rights (src_fid, licence_no, holder, kind, mineral, depth_top, depth_bottom, "
                "valid_from, valid_to, props, geom, county) "
                "SELECT 'case:' || case_no, :licence_no, coalesce(nullif(company, ''), applicant_name), 'mining', "
                "mineral, depth_top, depth_bottom, :valid_from, :valid_to, "
                "jsonb_build_object('case_no', case_no, 'case_id', id), geom, county FROM cases WHERE id = :id "
                "RETURNING licence_no, holder, kind, mineral, depth_top, depth_bottom, valid_from, valid_to"
            ),
            {"licence_no": licence_no, "valid_from": day, "valid_to": valid_to, "id": case.id},
        )
        .mappings()
        .one()
    )
    _record(session, actor, case, "grant", None, _json(dict(row)), reason, at)
    return {LAYER}


def _granted(session: Session, case: Case) -> dict[str, Any]:
    right = right_of(session, case, lock=True)
    if right is None:
        raise Conflict(f"案件 {case.case_no} 尚未设立采矿权 / no mining right has been granted on case {case.case_no}")
    return right


def _change(details: Any) -> RightChange:
    if not isinstance(details, RightChange):
        raise InvalidInput("缺少采矿权变更事项 / the mining right's new facts are missing")
    return details


def _update(
    session: Session,
    actor: str,
    case: Case,
    action: str,
    right: dict[str, Any],
    new: dict[str, Any],
    reason: str | None,
    at: datetime,
) -> set[str]:
    before = _facts(right)
    sets = ", ".join(f"{k} = :{k}" for k in new)
    row = (
        session.execute(
            text(
                f"UPDATE mining_rights SET {sets}, props = props || CAST(:props AS jsonb) WHERE id = :id "
                "RETURNING licence_no, holder, kind, mineral, depth_top, depth_bottom, valid_from, valid_to"
            ),
            {**new, "id": right["id"], "props": _props(action, at)},
        )
        .mappings()
        .one()
    )
    _record(session, actor, case, action, before, _json(dict(row)), reason, at)
    return {LAYER}


def _props(action: str, at: datetime) -> str:
    return json.dumps({f"{action}_on": _day(at).isoformat()})


def renew(session: Session, actor: str, case: Case, details: Any, at: datetime, reason: str | None) -> set[str]:
    """延续: extend the right's validity to the new valid-to date."""
    change = _change(details)
    right = _granted(session, case)
    day = _day(at)
    latest = _years_later(day, int(terms()["max_renewal_years"]))
    if change.valid_to is None:
        raise InvalidInput("延续须给出新的有效期止 / a renewal needs the new valid-to date (valid_to)")
    if right["valid_to"] is not None and change.valid_to <= right["valid_to"]:
        raise InvalidInput(
            f"新的有效期止 {change.valid_to} 须晚于现有的 {right['valid_to']} / the new valid-to date {change.valid_to} "
            f"must be after the present one, {right['valid_to']}"
        )
    if change.valid_to > latest:
        raise InvalidInput(
            f"延续后有效期最长至 {latest} / a renewal reaches at most {latest} (valid_to {change.valid_to})"
        )
    return _update(session, actor, case, "renew", right, {"valid_to": change.valid_to}, reason, at)


def transfer(session: Session, actor: str, case: Case, details: Any, at: datetime, reason: str | None) -> set[str]:
    """转让: the right passes to a new holder."""
    change = _change(details)
    right = _granted(session, case)
    holder = (change.holder or "").strip()
    if not holder:
        raise InvalidInput("转让须给出受让人 / a transfer needs the new holder (holder)")
    if holder == right["holder"]:
        raise InvalidInput(f"受让人与现采矿权人相同：{holder} / the new holder is the present one: {holder}")
    return _update(session, actor, case, "transfer", right, {"holder": holder}, reason, at)


def change(session: Session, actor: str, case: Case, details: Any, at: datetime, reason: str | None) -> set[str]:
    """变更: the holder's name, the mineral or the depth range change; new depths must not meet another right."""
    new_facts = _change(details)
    right = _granted(session, case)
    new = {
        k: v.strip() if isinstance(v, str) else v
        for k, v in asdict(new_facts).items()
        if k != "valid_to" and v is not None and v != "" and v != right[k]
    }
    if not new:
        raise InvalidInput(
            "变更须给出与现状不同的采矿权人名称、矿种或开采标高 / a change needs a new holder name, mineral or depth "
            "range that differs from the present one"
        )
    top = new.get("depth_top", right["depth_top"])
    bottom = new.get("depth_bottom", right["depth_bottom"])
    if ("depth_top" in new or "depth_bottom" in new) and top is not None and bottom is not None and top <= bottom:
        raise InvalidInput(
            f"开采标高上限 {top} 须高于下限 {bottom} / the top of the depth range ({top}) must be above its bottom ({bottom})"
        )
    if "depth_top" in new or "depth_bottom" in new:
        _refuse_depth_conflicts(session, right, top, bottom, _day(at))
    return _update(session, actor, case, "change", right, new, reason, at)


def _refuse_depth_conflicts(session: Session, right: dict[str, Any], top: Any, bottom: Any, day: date) -> None:
    hits = session.execute(
        text(
            """
            SELECT o.licence_no, ST_Area(ST_Intersection(ST_Transform(o.geom, z.srid), ST_Transform(r.geom, z.srid))) AS m2
              FROM mining_rights r
              CROSS JOIN LATERAL (SELECT 4488 + floor((ST_X(ST_Centroid(r.geom)) + 1.5) / 3)::int AS srid) z
              JOIN mining_rights o ON o.id <> r.id AND o.geom && r.geom AND ST_Intersects(o.geom, r.geom)
             WHERE r.id = :id
               AND (o.valid_from IS NULL OR o.valid_from <= :day) AND (o.valid_to IS NULL OR o.valid_to >= :day)
               AND (o.depth_top IS NULL OR o.depth_bottom IS NULL OR CAST(:top AS float8) IS NULL
                    OR CAST(:bottom AS float8) IS NULL
                    OR least(greatest(o.depth_top, o.depth_bottom), greatest(:top, :bottom))
                       > greatest(least(o.depth_top, o.depth_bottom), least(:top, :bottom)))
            """
        ),
        {"id": right["id"], "day": day, "top": top, "bottom": bottom},
    ).all()
    found = [(no, float(m2)) for no, m2 in hits if float(m2) > ruleset().min_overlap_m2]
    if found:
        names = "、".join(f"{no}（{m2:.2f} 平方米）" for no, m2 in found)
        names_en = ", ".join(f"{no} ({m2:.2f} m²)" for no, m2 in found)
        raise Conflict(
            f"变更后的开采标高与有效矿业权 {names} 重叠 / the new depth range meets valid right(s) {names_en}"
        )


def cancel(session: Session, actor: str, case: Case, details: Any, at: datetime, reason: str | None) -> set[str]:
    """注销: the right ends the day before the cancellation (from that day on, no application meets it)."""
    right = _granted(session, case)
    ends = _day(at) - timedelta(days=1)
    return _update(session, actor, case, "cancel", right, {"valid_to": ends}, reason, at)


def right_view(session: Session, case: Case) -> dict[str, Any] | None:
    """Return the right of a mining case with its history, as the case page and the API show it."""
    right = right_of(session, case)
    if right is None:
        return None
    today = _day(records.now())
    valid = (right["valid_from"] is None or right["valid_from"] <= today) and (
        right["valid_to"] is None or right["valid_to"] >= today
    )
    return {
        **_facts(right),
        "valid": valid,
        "history": [
            {
                "action": e.action,
                "title": ACTIONS[e.action][0],
                "title_en": ACTIONS[e.action][1],
                "at": e.at.isoformat(),
                "actor": e.actor,
                "reason": e.reason,
                "before": e.before,
                "after": e.after,
            }
            for e in history(session, str(right["licence_no"]))
        ],
    }
