"""A requisition's public announcements (征收土地预公告, 征地补偿安置方案公告): published when the case enters their
state (service/data/announcements.toml), shown on the public register with the land's map and their dates, open
for objections and hearing requests until they end. Every response reaches the case, is answered by the window, and
is counted by the guard `responses_answered` before the next step may start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.check.rules import kind_title
from gis.crs import m2_to_mu
from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.records import get_case
from service.cases.workflow import workflow
from service.clocks import case_clocks as clocks
from service.clocks.local_time import local_minute
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Announcement, AnnouncementResponse, Case
from service.core.personal import mask_name, valid_phone
from service.core.tables import read_table
from service.notify.messages import is_mobile, tell


@dataclass(frozen=True)
class Stage:
    """An announcement a state publishes: its titles, how long it runs, which responses it takes, its legal basis."""

    code: str
    state: str
    title: str
    title_en: str
    ends: str
    responses: tuple[str, ...]
    basis: str
    text: str
    text_en: str


ENDS: dict[str, Callable[[datetime], datetime]] = {
    "pre_announcement": lambda start: clocks.clock().pre_announcement_end(start).due,
    "compensation_announcement": lambda start: clocks.clock().compensation_announcement_end(start).due,
}
"""How long a stage runs: the statutory minimum of deadlines.toml [announcements] it names."""


@cache
def table() -> dict[str, Any]:
    """Return the announcements table (service/data/announcements.toml)."""
    return read_table("announcements.toml")


@cache
def stages() -> dict[str, Stage]:
    """Return the stages by code, checked against the workflow's states and the known durations."""
    out = {}
    kinds = set(table()["responses"])
    for code, s in table()["stages"].items():
        stage = Stage(
            code,
            s["state"],
            s["title"],
            s["title_en"],
            s["ends"],
            tuple(s["responses"]),
            s["basis"],
            s["text"],
            s["text_en"],
        )
        if stage.state not in workflow().states or stage.ends not in ENDS or set(stage.responses) - kinds:
            raise ValueError(f"announcements.toml [stages.{code}]: unknown state, duration or response kind")
        out[code] = stage
    return out


def stage_of_state(state: str) -> Stage | None:
    """Return the stage a state publishes, or None."""
    return next((s for s in stages().values() if s.state == state), None)


def response_title(kind: str, lang: str = "zh") -> str:
    """Return a response kind's title (异议 / 听证申请) in the language."""
    t = table()["responses"].get(kind)
    return kind if t is None else (t["title_en"] if lang == "en" else t["title"])


def publish_on_entry(session: Session, case: Case, at: datetime) -> Announcement | None:
    """Publish the announcement of the state the case has just entered (none for most states)."""
    stage = stage_of_state(case.status)
    if stage is None:
        return None
    item = Announcement(case_id=case.id, stage=stage.code, starts_at=at, ends_at=ENDS[stage.ends](at))
    session.add(item)
    session.flush()
    after = {"announcement_id": item.id, "stage": stage.code, "ends_at": item.ends_at.isoformat()}
    audit(session, records.SYSTEM, "announcement.publish", case.id, None, after)
    return item


def unanswered_responses(session: Session, case: Case) -> dict[str, int]:
    """Return how many responses to the case's announcements wait for an answer, by kind."""
    rows = session.execute(
        select(AnnouncementResponse.kind, func.count())
        .where(AnnouncementResponse.case_id == case.id, AnnouncementResponse.answered_at.is_(None))
        .group_by(AnnouncementResponse.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}


def _counts(session: Session, announcement_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(AnnouncementResponse.announcement_id, AnnouncementResponse.kind, func.count())
        .where(AnnouncementResponse.announcement_id.in_(announcement_ids))
        .group_by(AnnouncementResponse.announcement_id, AnnouncementResponse.kind)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for aid, kind, n in rows:
        out.setdefault(aid, {})[kind] = int(n)
    return out


def _applicant(case: Case) -> str:
    return case.applicant_name if case.applicant_type == "unit" else (mask_name(case.applicant_name) or "")


def public_view(item: Announcement, case: Case, counts: dict[str, int], at: datetime, full: bool) -> dict[str, Any]:
    """Return an announcement as the public register shows it: no personal data beyond the masked name; with `full`
    the land's boundary for the map."""
    stage = stages()[item.stage]
    out: dict[str, Any] = {
        "id": item.id,
        "stage": item.stage,
        "title": stage.title,
        "title_en": stage.title_en,
        "case_no": case.case_no,
        "kind": case.kind,
        "kind_title": kind_title(case.kind, short=True),
        "project_name": case.project_name if case.applicant_type == "unit" else None,
        "applicant": _applicant(case),
        "township": case.township,
        "village": case.village,
        "area_m2": case.area_m2,
        "area_mu": m2_to_mu(case.area_m2) if case.area_m2 is not None else None,
        "starts_at": item.starts_at.isoformat(),
        "ends_at": item.ends_at.isoformat(),
        "open": item.starts_at <= at < item.ends_at,
        "accepts": list(stage.responses),
        "responses": {k: counts.get(k, 0) for k in stage.responses},
    }
    if full:
        out.update(
            basis=stage.basis,
            text=stage.text,
            text_en=stage.text_en,
            boundary=dict(mapping(to_shape(case.geom))) if case.geom is not None else None,
        )
    return out


def public_announcements(
    session: Session, at: datetime | None = None, open_only: bool = False, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Return the announcements newest first (the open ones only, when asked)."""
    at = at or records.now()
    q = select(Announcement, Case).join(Case, Case.id == Announcement.case_id)
    if open_only:
        q = q.where(Announcement.starts_at <= at, Announcement.ends_at > at)
    rows = session.execute(
        q.order_by(Announcement.starts_at.desc(), Announcement.id.desc()).limit(limit).offset(offset)
    )
    items = rows.all()
    counts = _counts(session, [a.id for a, _ in items])
    return [public_view(a, c, counts.get(a.id, {}), at, full=False) for a, c in items]


def public_announcement(session: Session, announcement_id: int, at: datetime | None = None) -> dict[str, Any]:
    """Return one announcement with its map (404 for one that does not exist)."""
    item = session.get(Announcement, announcement_id)
    if item is None:
        raise NotFound(f"公告不存在 / announcement {announcement_id} not found")
    case = get_case(session, item.case_id)
    return public_view(item, case, _counts(session, [item.id]).get(item.id, {}), at or records.now(), full=True)


def respond(
    session: Session, announcement_id: int, kind: str, name: str, phone: str, content: str, at: datetime | None = None
) -> AnnouncementResponse:
    """Record an objection or a hearing request sent to an open announcement; it reaches the case (the window is told)
    and must be answered before the next step. Refused (naming the field) when it cannot be taken."""
    at = at or records.now()
    limits = table()["limits"]
    item = session.get(Announcement, announcement_id)
    if item is None:
        raise NotFound(f"公告不存在 / announcement {announcement_id} not found")
    stage = stages()[item.stage]
    if kind not in stage.responses:
        accepted = "、".join(response_title(k) for k in stage.responses)
        accepted_en = ", ".join(stage.responses)
        raise InvalidInput(
            f"类型：{stage.title}只受理{accepted} / kind: the {stage.title_en.lower()} takes {accepted_en} (got {kind!r})"
        )
    if not item.starts_at <= at < item.ends_at:
        raise Conflict(
            f"公告期已于{local_minute(item.ends_at)}结束，不再受理{response_title(kind)} / the announcement ended on "
            f"{local_minute(item.ends_at)}; no more {kind} requests are taken",
            ends_at=item.ends_at.isoformat(),
        )
    name, phone, content = name.strip(), phone.strip(), content.strip()
    if not name or len(name) > limits["max_name"]:
        raise InvalidInput(
            f"姓名：请填写姓名或单位名称（至多 {limits['max_name']} 字） / name: give your name or your organisation's "
            f"(at most {limits['max_name']} characters)"
        )
    if not valid_phone(phone):
        raise InvalidInput(f"电话：{phone!r} 不是有效的电话号码 / phone: {phone!r} is not a valid phone number")
    if not content or len(content) > limits["max_content"]:
        raise InvalidInput(
            f"内容：请写明理由（至多 {limits['max_content']} 字） / content: say why (at most {limits['max_content']} "
            "characters)"
        )
    case = get_case(session, item.case_id)
    response = AnnouncementResponse(
        announcement_id=item.id, case_id=case.id, kind=kind, name=name, phone=phone, content=content, created_at=at
    )
    session.add(response)
    session.flush()
    audit(
        session,
        "public",
        "response.create",
        case.id,
        None,
        {"response_id": response.id, "kind": kind, "announcement_id": item.id},
    )
    facts = {"response": response_title(kind), "announcement": stage.title}
    tell(session, "response_sent", case, f"response:{response.id}", facts)
    return response


def case_responses(session: Session, case: Case) -> list[dict[str, Any]]:
    """Return the responses sent to a case's announcements, oldest first, in full (for staff)."""
    rows = session.execute(
        select(AnnouncementResponse, Announcement)
        .join(Announcement, Announcement.id == AnnouncementResponse.announcement_id)
        .where(AnnouncementResponse.case_id == case.id)
        .order_by(AnnouncementResponse.id)
    ).all()
    return [
        {
            "id": r.id,
            "announcement_id": a.id,
            "stage": a.stage,
            "stage_title": stages()[a.stage].title,
            "kind": r.kind,
            "name": r.name,
            "phone": r.phone,
            "content": r.content,
            "created_at": r.created_at.isoformat(),
            "answer": r.answer,
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
        }
        for r, a in rows
    ]


def case_announcements(session: Session, case: Case) -> list[dict[str, Any]]:
    """Return a case's announcements with their dates and counts (for the case page)."""
    items = session.scalars(select(Announcement).where(Announcement.case_id == case.id).order_by(Announcement.id)).all()
    counts = _counts(session, [a.id for a in items])
    at = records.now()
    return [public_view(a, case, counts.get(a.id, {}), at, full=False) for a in items]


def answer(
    session: Session, actor: Principal, case_id: int, response_id: int, text: str, at: datetime | None = None
) -> AnnouncementResponse:
    """Record the window's answer to an objection or hearing request (what was decided, or when the hearing is held);
    the sender is told by text message. Audited."""
    permissions.require(actor, "case.responses")
    at = at or records.now()
    case = get_case(session, case_id, lock=True)
    response = session.get(AnnouncementResponse, response_id, with_for_update=True)
    if response is None or response.case_id != case.id:
        raise NotFound(
            f"该案件没有编号为 {response_id} 的异议或听证申请 / case {case_id} has no response {response_id}"
        )
    if response.answered_at is not None:
        raise Conflict(
            f"该{response_title(response.kind)}已于{local_minute(response.answered_at)}答复 / this {response.kind} was "
            f"answered on {local_minute(response.answered_at)}"
        )
    text = text.strip()
    most = table()["limits"]["max_answer"]
    if not text or len(text) > most:
        raise InvalidInput(
            f"答复：请写明答复内容（至多 {most} 字） / answer: write the answer (at most {most} characters)"
        )
    response.answer, response.answered_by, response.answered_at = text, actor.user_id, at
    session.flush()
    audit(
        session,
        actor.actor,
        "response.answer",
        case.id,
        None,
        {"response_id": response.id, "kind": response.kind},
        detail=text,
    )
    stage = stages()[session.get(Announcement, response.announcement_id).stage]  # type: ignore[union-attr]
    facts = {"response": response_title(response.kind), "announcement": stage.title}
    if is_mobile(response.phone):
        tell(session, "response_answered", case, f"answer:{response.id}", facts, responder=response.phone)
    return response
