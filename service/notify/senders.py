"""Who carries a text message: the log (the default, for a window without a gateway) or an SMS gateway's HTTP API
(configured by the LANDWINDOW_SMS_* settings). A sender either delivers a message or raises SendFailed, saying
whether trying again later may help."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import httpx

from service.core.personal import mask_phone
from service.core.settings import Settings

logger = logging.getLogger("landwindow.sms")


@dataclass(frozen=True)
class Outgoing:
    """A message as handed to a sender: its key (the gateway may dedupe by it), the number and the text."""

    key: str
    phone: str
    text: str


class SendFailed(Exception):
    """The message was not delivered; `retry` says whether a later attempt may succeed."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Sender(Protocol):
    """Delivers one message or raises SendFailed."""

    name: str

    def send(self, message: Outgoing) -> None:
        """Deliver the message (raise SendFailed when it was not delivered)."""
        ...


class LogSender:
    """Writes each message to the log instead of sending it (the default; the number masked like every log line)."""

    name = "log"

    def send(self, message: Outgoing) -> None:
        """Log the message."""
        logger.info("短信 SMS %s → %s: %s", message.key, mask_phone(message.phone), message.text)


class HttpSmsSender:
    """Posts each message to an SMS gateway's HTTP API as JSON.

    `POST <url>` with `{"phone", "text", "sign", "id"}`, the token as `Authorization: Bearer …` and the message's key
    as `Idempotency-Key` (and `id`): a message retried after a lost answer is the same message to the gateway. Any
    2xx is delivered; 408, 425, 429 and 5xx answers, timeouts and connection errors are tried again later; other
    answers (a wrong number, a refused token) are not.
    """

    name = "http"
    RETRY_STATUSES = frozenset({408, 425, 429})

    def __init__(self, url: str, token: str | None, sign: str, timeout: float, client: httpx.Client | None = None):
        self.url = url
        self.sign = sign
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def send(self, message: Outgoing) -> None:
        """Post the message; raise SendFailed unless the gateway answered 2xx."""
        body = {"phone": message.phone, "text": message.text, "sign": self.sign, "id": message.key}
        try:
            r = self.client.post(self.url, json=body, headers={**self.headers, "Idempotency-Key": message.key})
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}", retry=True) from exc
        if 200 <= r.status_code < 300:
            return
        retry = r.status_code >= 500 or r.status_code in self.RETRY_STATUSES
        raise SendFailed(f"HTTP {r.status_code}: {r.text[:200]}", retry=retry)


def sender_of(settings: Settings) -> Sender:
    """Return the sender the settings configure: the gateway when LANDWINDOW_SMS_GATEWAY_URL is set, else the log."""
    if settings.sms_gateway_url:
        sign = settings.sms_sign or settings.profile.offices.bureau
        return HttpSmsSender(settings.sms_gateway_url, settings.sms_gateway_token, sign, settings.sms_timeout_seconds)
    return LogSender()
