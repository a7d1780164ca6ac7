"""Sending the outbox: each due message is taken under a row lock (SKIP LOCKED, so two senders — the server's worker
and `landwindow notify send` — never take the same one), handed to the sender, and marked sent, or retried after a
backoff, or given up; each outcome in the audit log. A message is marked in the transaction that held it while it
was sent: should the process die between the gateway's answer and the commit, the message is sent again with the
same key, which the gateway dedupes (HttpSmsSender sends it as Idempotency-Key).

Before sending, the deadlines that are near are queued (one message per case, clock and due time, to the clerk who
received the case)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from service.cases.workflow import open_states, workflow
from service.clocks import case_clocks as clocks
from service.core.audit import audit
from service.core.models import Case, OutboxMessage
from service.core.personal import mask_phone
from service.core.settings import Settings
from service.notify.messages import deadline_facts, table, tell
from service.notify.senders import Outgoing, Sender, SendFailed, sender_of

logger = logging.getLogger("landwindow.notify")
ACTOR = "system"


@dataclass
class Run:
    """What one run did: deadline messages queued, messages sent, to be retried, given up."""

    queued: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def queue_deadlines(session: Session, at: datetime) -> int:
    """Queue a message to the receiving clerk of every open case whose statutory or promised clock is due soon (the
    clocks' own `due_soon`); once per case, clock and due time. Return how many were queued."""
    horizon = at + timedelta(days=table().delivery.deadline_scan_days)
    states = [s for s in open_states() if s != workflow().online_state]
    near = or_(Case.promised_due.between(at, horizon), Case.statutory_due.between(at, horizon))
    cases = session.scalars(
        select(Case).where(Case.status.in_(states), Case.received_by.is_not(None), near).order_by(Case.id)
    ).all()
    queued = 0
    for case in cases:
        view = clocks.view(case, at)
        for clock in ("promised", "statutory"):
            due = getattr(case, f"{clock}_due")
            if view[clock]["status"] == "due_soon" and due is not None:
                key = f"deadline:{case.id}:{clock}:{due.isoformat()}"
                queued += len(tell(session, "deadline_near", case, key, deadline_facts(clock, due)))
    return queued


def _record(session: Session, message: OutboxMessage, action: str, sender: Sender, at: datetime) -> None:
    after = {
        "key": message.key,
        "event": message.event,
        "to": mask_phone(message.recipient),
        "user_id": message.user_id,
        "text": message.body,
        "attempt": message.attempts,
        "sender": sender.name,
    }
    if message.status == "pending":
        after["next_attempt_at"] = message.next_attempt_at.isoformat()
    audit(session, ACTOR, action, message.case_id, None, after, detail=message.last_error)


def send_one(session: Session, sender: Sender, at: datetime) -> str | None:
    """Send the next due message (locked, others skip it) in the session's transaction; return its outcome (sent,
    retried, failed) or None when nothing is due."""
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if message is None:
        return None
    delivery = table().delivery
    message.attempts += 1
    try:
        sender.send(Outgoing(message.key, message.recipient, message.body))
    except Exception as exc:  # a sender's own fault is a failed attempt too, never a lost message
        failed = exc if isinstance(exc, SendFailed) else SendFailed(f"{type(exc).__name__}: {exc}", retry=True)
        message.last_error = failed.reason[:500]
        if failed.retry and message.attempts < delivery.max_attempts:
            message.next_attempt_at = at + timedelta(seconds=delivery.wait_after(message.attempts))
            _record(session, message, "notify.retry", sender, at)
            return "retried"
        message.status = "failed"
        _record(session, message, "notify.failed", sender, at)
        logger.warning(
            "短信发送失败 message %s given up after %d attempts: %s", message.key, message.attempts, message.last_error
        )
        return "failed"
    message.status, message.sent_at, message.last_error = "sent", at, None
    _record(session, message, "notify.sent", sender, at)
    return "sent"


def run_once(engine: Engine, sender: Sender, at: datetime | None = None, limit: int | None = None) -> Run:
    """Queue the deadlines that are near, then send what is due, one message per transaction."""
    at = at or _now()
    run = Run()
    with Session(engine) as session, session.begin():
        run.queued = queue_deadlines(session, at)
    for _ in range(limit or table().delivery.batch):
        with Session(engine) as session, session.begin():
            outcome = send_one(session, sender, at)
        if outcome is None:
            break
        setattr(run, outcome, getattr(run, outcome) + 1)
    return run


async def worker(engine: Engine, settings: Settings) -> None:
    """Send the outbox every notify_interval_seconds until cancelled (started by the server when notify_worker)."""
    sender = sender_of(settings)
    while True:
        try:
            run = await asyncio.to_thread(run_once, engine, sender)
            if run.sent or run.retried or run.failed:
                logger.info("短信 outbox: %d sent, %d to retry, %d given up", run.sent, run.retried, run.failed)
        except Exception:  # the database may be away for a while: try again next time
            logger.exception("短信发送出错 the outbox could not be sent")
        await asyncio.sleep(settings.notify_interval_seconds)
