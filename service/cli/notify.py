"""`landwindow notify …`: the outbox of text messages — send what is due (cron, or the server's worker) and list it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from service.cli.common import operator_command, orm_session, out, running_database_url
from service.clocks.local_time import local_minute
from service.core.db import make_engine
from service.core.models import MESSAGE_STATES, OutboxMessage
from service.core.personal import mask_phone
from service.core.settings import get_settings
from service.notify.delivery import run_once
from service.notify.senders import sender_of

notify_app = typer.Typer(help="短信通知 / text messages (the outbox)", no_args_is_help=True)


@notify_app.command("send")
@operator_command("notifications.send")
def notify_send(
    limit: Annotated[int | None, typer.Option(help="至多发送条数 / send at most this many")] = None,
) -> None:
    """发送待发短信 / Queue the deadlines that are near, then send the due messages (retries with backoff)."""
    engine = make_engine(running_database_url(), pool_size=1)
    try:
        run = run_once(engine, sender_of(get_settings()), limit=limit)
    finally:
        engine.dispose()
    out.print(
        f"短信 text messages: {run.queued} deadline reminders queued, {run.sent} sent, {run.retried} to retry, "
        f"{run.failed} given up"
    )


@notify_app.command("list")
@operator_command("notifications.send")
def notify_list(
    status: Annotated[str | None, typer.Option(help=" | ".join(MESSAGE_STATES))] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """列出短信 / The newest messages of the outbox (numbers masked; times in Beijing time)."""
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        q = q.where(OutboxMessage.status == status)
    table = Table("id", "created", "to", "status", "attempts", "text", title="短信 Outbox")
    with orm_session() as session:
        for m in session.scalars(q):
            table.add_row(
                str(m.id), local_minute(m.created_at), mask_phone(m.recipient), m.status, str(m.attempts), m.body
            )
    out.print(table)
