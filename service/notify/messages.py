"""What the window tells whom (service/data/notifications.toml): a case's event becomes text messages in the outbox,
in the transaction of the event itself, so a message exists exactly when what it tells has happened. Each message
has a key naming the event and its recipient: the same event never queues a second message."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.check.rules import kind_title
from service.access import permissions
from service.cases.workflow import workflow
from service.clocks.local_time import local_minute
from service.core.models import Case, OutboxMessage, ReviewTask, User
from service.core.personal import valid_mobile
from service.core.tables import read_table

FACTS = frozenset(
    {
        "case_no",
        "kind",
        "state",
        "step",
        "reason_note",
        "township",
        "step_due",
        "promised_due",
        "missing",
        "clock",
        "due",
        "response",
        "announcement",
        "ends",
    }
)
"""The facts a message's text may name (in braces)."""
RECIPIENTS = re.compile(r"^(applicant|reviewers|received_by|responder|staff:[a-z_.]+)$")


class NotificationsError(ValueError):
    """The notifications table is inconsistent."""


@dataclass(frozen=True)
class Rule:
    """One message of an event: for whom, and its text."""

    event: str
    to: str
    text: str
    state: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How messages are sent: attempts, the waits between them, the batch of one run."""

    max_attempts: int
    backoff_seconds: tuple[int, ...]
    batch: int
    deadline_scan_days: int

    def wait_after(self, failures: int) -> int:
        """Return the seconds to wait after the given number of failed attempts (the last wait repeats)."""
        return self.backoff_seconds[min(failures, len(self.backoff_seconds)) - 1]


@dataclass(frozen=True)
class Table:
    """The notifications table."""

    delivery: Delivery
    rules: tuple[Rule, ...]


@cache
def table() -> Table:
    """Return the notifications table, read once and checked (recipients, states, the facts the texts name)."""
    raw = read_table("notifications.toml")
    d = raw["delivery"]
    delivery = Delivery(
        int(d["max_attempts"]),
        tuple(int(s) for s in d["backoff_seconds"]),
        int(d["batch"]),
        int(d["deadline_scan_days"]),
    )
    if delivery.max_attempts < 1 or not delivery.backoff_seconds or min(delivery.backoff_seconds) < 1:
        raise NotificationsError("notifications.toml [delivery]: max_attempts ≥ 1 and backoff_seconds ≥ 1 each")
    rules = []
    for i, m in enumerate(raw["messages"]):
        rule = Rule(m["event"], m["to"], m["text"], m.get("state"))
        where = f"notifications.toml messages[{i}] ({rule.event})"
        if not RECIPIENTS.match(rule.to):
            raise NotificationsError(f"{where}: unknown recipient {rule.to!r}")
        if rule.to.startswith("staff:"):
            permissions.action(rule.to.split(":", 1)[1])  # a KeyError names an action missing from permissions.toml
        if rule.state is not None and rule.state not in workflow().states:
            raise NotificationsError(f"{where}: unknown state {rule.state!r}")
        named = {f for _, f, _, _ in string.Formatter().parse(rule.text) if f}
        if named - FACTS:
            raise NotificationsError(f"{where}: unknown facts {sorted(named - FACTS)}")
        rules.append(rule)
    return Table(delivery, tuple(rules))


def is_mobile(phone: str | None) -> bool:
    """Return whether a number can receive text messages (a mainland mobile number)."""
    return valid_mobile(phone)


def case_facts(case: Case) -> dict[str, str]:
    """Return the facts of a case every message may name."""
    promised = case.promised_due
    return {
        "case_no": case.case_no,
        "kind": kind_title(case.kind, short=True),
        "state": workflow().state_title(case.status),
        "township": case.township or "—",
        "promised_due": local_minute(promised) if promised else "—",
    }


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a phone number, the member of staff it belongs to (none: the applicant), and the part
    of the message's key that names them."""

    phone: str
    user_id: int | None
    tag: str


def _staff(session: Session, users: Iterable[User]) -> list[Recipient]:
    return [
        Recipient(u.phone.strip(), u.id, f"user{u.id}") for u in users if u.active and u.phone and is_mobile(u.phone)
    ]


def recipients(session: Session, to: str, case: Case, responder: str | None = None) -> list[Recipient]:
    """Return who a rule's `to` names for a case (only those a text message can reach)."""
    if to == "applicant":
        return [Recipient(case.phone.strip(), None, "applicant")] if case.phone and is_mobile(case.phone) else []
    if to == "responder":
        return [Recipient(responder.strip(), None, "responder")] if responder and is_mobile(responder) else []
    if to == "received_by":
        user = session.get(User, case.received_by) if case.received_by else None
        return _staff(session, [user] if user else [])
    if to == "reviewers":
        departments = select(ReviewTask.department).where(ReviewTask.case_id == case.id, ReviewTask.status != "done")
        roles = permissions.action("case.review").roles
        users = session.scalars(select(User).where(User.department.in_(departments), User.role.in_(roles)))
        return _staff(session, users.all())
    roles = permissions.action(to.split(":", 1)[1]).roles
    return _staff(session, session.scalars(select(User).where(User.role.in_(roles)).order_by(User.id)).all())


class _Facts(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def tell(
    session: Session,
    event: str,
    case: Case,
    key: str,
    facts: Mapping[str, Any] | None = None,
    state: str | None = None,
    responder: str | None = None,
) -> list[int]:
    """Queue the messages of an event of a case in the session's transaction; `key` names this very event (a second
    call with the same key queues nothing). Return the ids of the messages queued now."""
    values = _Facts(case_facts(case))
    values.update({k: str(v) for k, v in (facts or {}).items()})
    queued = []
    for rule in table().rules:
        if rule.event != event or (rule.state is not None and rule.state != state):
            continue
        body = rule.text.format_map(values).strip()
        for r in recipients(session, rule.to, case, responder):
            row = {
                "key": f"{key}:{r.tag}",
                "event": event,
                "recipient": r.phone,
                "user_id": r.user_id,
                "case_id": case.id,
                "body": body,
            }
            done = session.execute(
                insert(OutboxMessage)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(OutboxMessage.id)
            ).scalar()
            if done is not None:
                queued.append(int(done))
    return queued


def deadline_facts(clock: str, due: datetime) -> dict[str, str]:
    """Return the facts of a deadline message: which clock and when it ends."""
    return {"clock": {"statutory": "法定时限", "promised": "承诺时限"}.get(clock, clock), "due": local_minute(due)}
