"""Satisfaction callbacks (万人评窗口): a seeded random sample of each month's decided cases, and the outcomes.

The population of a month is every case decided in it (its deciding step in the audit log) that has an applicant
phone, ordered by case id; `random.Random(seed).sample` draws from it, so the same month and seed always give the
same cases. Without a seed one is chosen at random and stored with the draw (clerks cannot know the sample before
it is drawn; anyone can redraw it afterwards from the stored seed). A month is drawn once, after it has ended.

The callbacks judge the window clerks, so only leaders and administrators (and the command line) draw samples,
see the phones and record outcomes. Phones appear in full only on the callback page; logs carry them masked.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.access import permissions
from service.access.auth import Principal
from service.cases.workflow import workflow
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import CallbackDraw, CallbackEntry, Case
from service.core.personal import mask_name, mask_phone
from service.reports.statistics import Month, decided_in, settings

MAX_SIZE = 500
_PHONE_LIKE = re.compile(r"\d{7,}")


@dataclass(frozen=True)
class Outcome:
    """One possible outcome of a callback."""

    code: str
    zh: str
    en: str


def outcomes() -> list[Outcome]:
    """Return the callback outcomes in the order forms offer them (service/data/statistics.toml)."""
    return [Outcome(o["code"], o["zh"], o["en"]) for o in settings()["callbacks"]["outcomes"]]


def default_size() -> int:
    """Return how many cases a month's sample holds when no size is given."""
    return int(settings()["callbacks"]["default_size"])


def sample_ids(population: list[int], size: int, seed: int) -> list[int]:
    """Return `size` ids drawn from the population (sorted by id first) with a generator seeded by `seed`."""
    ordered = sorted(population)
    return random.Random(seed).sample(ordered, min(size, len(ordered)))


def population(session: Session, month: Month) -> list[int]:
    """Return the ids of the month's decided cases that have a phone, by id."""
    q = (
        select(Case.id)
        .where(Case.id.in_(decided_in(month)), Case.phone.is_not(None), Case.phone != "")
        .order_by(Case.id)
    )
    return list(session.scalars(q))


def get_draw(session: Session, month: Month) -> CallbackDraw | None:
    """Return the month's draw with its entries and cases, or None when not drawn yet."""
    return session.scalar(
        select(CallbackDraw)
        .options(selectinload(CallbackDraw.entries).selectinload(CallbackEntry.case))
        .where(CallbackDraw.month == str(month))
    )


def draw(
    session: Session,
    month: Month,
    size: int | None = None,
    seed: int | None = None,
    *,
    by: Principal,
    at: datetime | None = None,
) -> tuple[CallbackDraw, bool]:
    """Draw the month's sample (once; the same size and seed again return it); return it and whether it is new."""
    permissions.require(by, "callbacks.manage")
    at = at or datetime.now(LOCAL_TZ)
    if month.end > at:
        raise InvalidInput(
            f"{month} 尚未结束，月末之后才能抽取回访样本 / {month} has not ended yet; draw its sample after the month"
        )
    if size is not None and not 1 <= size <= MAX_SIZE:
        raise InvalidInput(
            f"抽样数量应为 1–{MAX_SIZE}（收到 {size}）/ the sample size must be 1–{MAX_SIZE} (got {size})"
        )
    if seed is not None and not 0 <= seed < 2**63:
        raise InvalidInput(
            f"随机种子应为非负整数（收到 {seed}）/ the seed must be a non-negative 64-bit integer (got {seed})"
        )
    existing = get_draw(session, month)
    if existing is not None:
        if (seed is None or seed == existing.seed) and (size is None or size == existing.size):
            return existing, False
        raise Conflict(
            f"{month} 的回访样本已抽取（种子 {existing.seed}，{existing.size} 件）/ the sample of {month} has been drawn "
            f"already (seed {existing.seed}, size {existing.size})",
            seed=existing.seed,
            size=existing.size,
        )
    size = size or default_size()
    seed = secrets.randbelow(2**31) if seed is None else seed
    pool = population(session, month)
    chosen = sample_ids(pool, size, seed)
    row = CallbackDraw(month=str(month), seed=seed, size=size, population=len(pool), drawn_by=by.user_id)
    session.add(row)
    session.flush()
    for i, case_id in enumerate(chosen, start=1):
        session.add(CallbackEntry(draw_id=row.id, case_id=case_id, position=i))
    session.flush()
    numbers = {r.id: r.case_no for r in session.execute(select(Case.id, Case.case_no).where(Case.id.in_(chosen)))}
    audit(
        session,
        by.actor,
        "callback.draw",
        None,
        None,
        {
            "month": str(month),
            "seed": seed,
            "size": size,
            "population": len(pool),
            "cases": [numbers[c] for c in chosen],
        },
    )
    session.expire(row)
    drawn = get_draw(session, month)
    assert drawn is not None
    return drawn, True


def record(
    session: Session,
    case_no: str,
    outcome: str,
    note: str | None = None,
    *,
    by: Principal,
    at: datetime | None = None,
) -> CallbackEntry:
    """Record the outcome of the callback of a sampled case (a later call replaces it; the audit log keeps both)."""
    permissions.require(by, "callbacks.manage")
    codes = [o.code for o in outcomes()]
    if outcome not in codes:
        raise InvalidInput(
            f"未知回访结果 {outcome!r}，可选：{', '.join(codes)} / unknown outcome {outcome!r}; one of: {', '.join(codes)}"
        )
    entry = session.scalar(
        select(CallbackEntry)
        .join(Case, Case.id == CallbackEntry.case_id)
        .join(CallbackDraw)
        .where(Case.case_no == case_no.strip())
        .order_by(CallbackDraw.month.desc())
        .limit(1)
        .with_for_update(of=CallbackEntry)
    )
    if entry is None:
        raise NotFound(f"案件 {case_no} 不在任何回访样本中 / case {case_no} is in no callback sample")
    before = {"outcome": entry.outcome, "note": _masked(entry.note)}
    entry.outcome = outcome
    entry.note = (note or "").strip() or None
    entry.called_by = by.user_id
    entry.called_at = at or datetime.now(LOCAL_TZ)
    session.flush()
    audit(
        session, by.actor, "callback.record", entry.case_id, before, {"outcome": outcome, "note": _masked(entry.note)}
    )
    return entry


def _masked(note: str | None) -> str | None:
    """Mask anything phone-like in a note before it goes to the log."""
    return _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)) or "", note) if note else note


def draw_view(d: CallbackDraw | None, month: Month, full_phones: bool = False) -> dict[str, Any]:
    """Return a draw as shown to people: its seed, the sampled cases with phones (masked unless asked) and outcomes."""
    titles = {o.code: o for o in outcomes()}
    if d is None:
        return {"month": str(month), "drawn": False, "entries": [], "summary": {}}
    summary: dict[str, int] = {o: 0 for o in titles}
    summary["pending"] = 0
    entries = []
    for e in d.entries:
        c = e.case
        summary[e.outcome or "pending"] += 1
        name = c.applicant_name if c.applicant_type == "unit" or full_phones else mask_name(c.applicant_name)
        entries.append(
            {
                "position": e.position,
                "case_id": c.id,
                "case_no": c.case_no,
                "kind": c.kind,
                "status_title": workflow().state_title(c.status),
                "applicant_name": name,
                "phone": c.phone if full_phones else mask_phone(c.phone),
                "decided_at": c.decided_at.astimezone(LOCAL_TZ).isoformat() if c.decided_at else None,
                "outcome": e.outcome,
                "outcome_zh": titles[e.outcome].zh if e.outcome in titles else None,
                "outcome_en": titles[e.outcome].en if e.outcome in titles else None,
                "note": e.note,
                "called_at": e.called_at.astimezone(LOCAL_TZ).isoformat() if e.called_at else None,
            }
        )
    return {
        "month": d.month,
        "drawn": True,
        "seed": d.seed,
        "size": d.size,
        "population": d.population,
        "drawn_at": d.created_at.astimezone(LOCAL_TZ).isoformat(),
        "entries": entries,
        "summary": summary,
    }
