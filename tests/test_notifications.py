"""Issue 19, item 4: text messages go through the outbox — written with what they tell, never twice, sent by the
configured sender (the log by default, an SMS gateway's HTTP API by settings), retried with backoff, each outcome in
the audit log; staff hear of new tasks and deadlines that are near."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.core.db import make_engine
from service.core.models import Case
from service.core.settings import Settings
from service.notify.delivery import run_once
from service.notify.messages import table, tell
from service.notify.senders import HttpSmsSender, LogSender, Outgoing, SendFailed, sender_of
from tests.test_online_api import apply


@pytest.fixture(autouse=True)
def _map(one_map):
    """The applications here lie on the synthetic one map."""


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url, pool_size=2)
    yield e
    e.dispose()


class Gateway:
    """A sender that fails the first `failures` times it is called, then delivers; it remembers what it got."""

    name = "test-gateway"

    def __init__(self, failures: int = 0, retry: bool = True, pause: float = 0.0) -> None:
        self.failures, self.retry, self.pause = failures, retry, pause
        self.calls: list[Outgoing] = []
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> None:
        time.sleep(self.pause)
        with self.lock:
            self.calls.append(message)
            if len(self.calls) <= self.failures:
                raise SendFailed("HTTP 503: busy", retry=self.retry)


def outbox(conn):
    conn.commit()  # a fresh snapshot
    return conn.execute("SELECT key, status, attempts, next_attempt_at, recipient FROM outbox ORDER BY id").fetchall()


def test_one_event_queues_one_message_however_often_it_is_told(api, conn, engine):
    apply(api)
    with Session(engine) as session, session.begin():
        case = session.query(Case).one()
        assert tell(session, "submitted_online", case, f"submitted:{case.id}") == []  # the same key: nothing new
        assert len(tell(session, "received", case, f"received:{case.id}")) == 1
    keys = [r[0] for r in outbox(conn)]
    assert keys == [f"submitted:{keys[0].split(':')[1]}:applicant", f"received:{keys[0].split(':')[1]}:applicant"]


def test_staff_with_a_phone_hear_of_new_applications(api, conn):
    conn.execute("UPDATE users SET phone = '13900000001' WHERE username = 'clerk'")
    conn.commit()
    apply(api)
    rows = conn.execute("SELECT event, recipient, user_id IS NOT NULL, body FROM outbox ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("submitted_online", "13800138000", False),
        ("submitted_online", "13900000001", True),
    ]
    assert rows[1][3].startswith("新的网上申请") and "待预审" in rows[1][3]


def test_a_failed_send_is_retried_with_backoff_then_sent_once(api, conn, engine):
    apply(api)
    gateway = Gateway(failures=2)
    t0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    run = run_once(engine, gateway, at=t0)
    assert (run.sent, run.retried, run.failed) == (0, 1, 0)
    (key, status, attempts, next_at, _), *_ = outbox(conn)
    assert status == "pending" and attempts == 1 and next_at == t0 + timedelta(seconds=60)
    assert run_once(engine, gateway, at=t0 + timedelta(seconds=30)).retried == 0  # not due yet: not tried
    assert run_once(engine, gateway, at=t0 + timedelta(seconds=61)).retried == 1
    assert outbox(conn)[0][3] == t0 + timedelta(seconds=61 + 300)  # the second wait is longer
    run = run_once(engine, gateway, at=t0 + timedelta(hours=1))
    assert run.sent == 1 and outbox(conn)[0][1:3] == ("sent", 3)
    assert run_once(engine, gateway, at=t0 + timedelta(days=1)).sent == 0  # never twice
    assert len(gateway.calls) == 3 and {c.key for c in gateway.calls} == {key}
    audit = conn.execute(
        "SELECT action, after->>'to', after->>'attempt', detail FROM audit_log WHERE action LIKE 'notify.%' ORDER BY id"
    ).fetchall()
    assert audit == [
        ("notify.retry", "138****8000", "1", "HTTP 503: busy"),
        ("notify.retry", "138****8000", "2", "HTTP 503: busy"),
        ("notify.sent", "138****8000", "3", None),
    ]


def test_a_message_is_given_up_after_its_attempts_or_at_once_when_retrying_cannot_help(api, conn, engine):
    apply(api)
    apply(api, phone="13700137000", applicant_name="钱七")
    never = Gateway(failures=10**6, retry=False)
    run = run_once(engine, never, at=datetime(2026, 12, 3, tzinfo=UTC), limit=1)
    assert run.failed == 1 and outbox(conn)[0][1:3] == ("failed", 1)
    busy = Gateway(failures=10**6)
    at = datetime(2026, 12, 3, tzinfo=UTC)
    for _ in range(table().delivery.max_attempts):
        run_once(engine, busy, at=at)
        at += timedelta(days=1)
    assert outbox(conn)[1][1:3] == ("failed", table().delivery.max_attempts)
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'notify.%' ORDER BY id")]
    assert actions.count("notify.failed") == 2


def test_two_senders_at_once_never_send_a_message_twice(api, conn, engine):
    for i in range(4):
        apply(api, phone=f"1380013800{i}", applicant_name=f"申请人{i}")
    gateway = Gateway(pause=0.05)
    at = datetime(2026, 12, 3, tzinfo=UTC)
    runs = [threading.Thread(target=run_once, args=(engine, gateway, at)) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert sorted(c.phone for c in gateway.calls) == [f"1380013800{i}" for i in range(4)]
    assert {r[1] for r in outbox(conn)} == {"sent"}


def test_the_clerk_hears_of_a_deadline_that_is_near_once(api, conn, engine):
    conn.execute("UPDATE users SET phone = '13900000001' WHERE username = 'clerk'")
    conn.commit()
    case = apply(api).json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (case["case_no"],)).fetchone()[0]
    case = api.move(api.get(f"/api/v1/cases/{case_id}").json(), "take_in_online").json()
    promised = conn.execute("SELECT promised_due FROM cases WHERE id = %s", (case_id,)).fetchone()[0]
    soon = promised - timedelta(hours=20)
    gateway = Gateway()
    assert run_once(engine, gateway, at=soon).queued == 1
    assert run_once(engine, gateway, at=soon + timedelta(hours=1)).queued == 0
    told = [c for c in gateway.calls if "到期" in c.text]
    assert len(told) == 1 and told[0].phone == "13900000001" and case["case_no"] in told[0].text


def test_the_log_sender_is_the_default_and_masks_the_number(caplog, make_settings):
    assert isinstance(sender_of(make_settings()), LogSender)
    with caplog.at_level(logging.INFO, logger="landwindow.sms"):
        LogSender().send(Outgoing("k1", "13800138000", "您的申请已收件"))
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text


def test_the_gateway_sender_posts_json_with_the_key_and_sorts_failures():
    seen = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        status = {"13800000000": 200, "13800000001": 503, "13800000002": 400, "13800000003": 429}[body["phone"]]
        return httpx.Response(status, text="ok" if status == 200 else "no")

    client = httpx.Client(transport=httpx.MockTransport(gateway))
    sender = HttpSmsSender("https://sms.example/api/send", "tok", "咸安区自然资源和规划局", 5, client=client)
    sender.send(Outgoing("received:1:applicant", "13800000000", "已收件"))
    r = seen[0]
    assert r.headers["Authorization"] == "Bearer tok" and r.headers["Idempotency-Key"] == "received:1:applicant"
    assert json.loads(r.content) == {
        "phone": "13800000000",
        "text": "已收件",
        "sign": "咸安区自然资源和规划局",
        "id": "received:1:applicant",
    }
    for phone, retry in (("13800000001", True), ("13800000002", False), ("13800000003", True)):
        with pytest.raises(SendFailed) as exc:
            sender.send(Outgoing("k", phone, "x"))
        assert exc.value.retry is retry

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    sender.client = httpx.Client(transport=httpx.MockTransport(down))
    with pytest.raises(SendFailed) as exc:
        sender.send(Outgoing("k", "13800000000", "x"))
    assert exc.value.retry and "ConnectError" in exc.value.reason


def test_the_settings_choose_the_gateway(make_settings):
    s: Settings = make_settings(sms_gateway_url="https://sms.example/api/send", sms_gateway_token="t")
    sender = sender_of(s)
    assert isinstance(sender, HttpSmsSender) and sender.sign == s.profile.offices.bureau


def test_the_notify_commands_send_and_list(api, conn, cli_db):
    apply(api)
    conn.execute("INSERT INTO users (username, role, password_hash) VALUES ('x', 'clerk', 'x')")
    conn.commit()
    runner = CliRunner()
    r = runner.invoke(cli, ["user", "phone", "x", "12345"])
    assert r.exit_code == 2 and "不是有效的手机号码" in r.output
    r = runner.invoke(cli, ["user", "phone", "x", "139-0000-0001"])
    assert r.exit_code == 0, r.output
    assert conn.execute("SELECT phone FROM users WHERE username = 'x'").fetchone()[0] == "13900000001"
    r = runner.invoke(cli, ["notify", "send"])
    assert r.exit_code == 0, r.output
    assert "1 sent" in r.output
    r = runner.invoke(cli, ["notify", "list"])
    assert r.exit_code == 0 and "138****8000" in r.output and "13800138000" not in r.output
