"""Failure limits of logins and query-code lookups, per client address and per username or case number.

Shared by the API and the pages (/login, /portal): the same counters, so one door gives no extra guesses.
A refused attempt is a TooManyAttempts (429 with Retry-After); see service/ratelimit.py for why it is in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from service.access.failures import FailureLimiter
from service.cases.lookup import normal_case_no
from service.core.errors import NotAuthenticated, NotFound

_create_lock = threading.Lock()


def failure_limiter(request: Request) -> FailureLimiter:
    """Return the app's limiter, made once from its settings."""
    limiter = getattr(request.app.state, "failure_limiter", None)
    if limiter is None:
        with _create_lock:
            limiter = getattr(request.app.state, "failure_limiter", None)
            if limiter is None:
                limiter = request.app.state.failure_limiter = FailureLimiter.from_settings(request.app.state.settings)
    return limiter


def client_address(request: Request) -> str:
    """Return the client's address (behind a proxy, uvicorn's --proxy-headers puts the forwarded one here)."""
    return request.client.host if request.client else "unknown"


@contextmanager
def login_attempt(request: Request, username: str) -> Iterator[None]:
    """Run a password check as one attempt: a NotAuthenticated counts against the username and the address."""
    limiter = failure_limiter(request)
    keys = {"login:user": username.strip(), "login:ip": client_address(request)}
    limiter.check(keys, "登录")
    try:
        yield
    except NotAuthenticated:
        limiter.failed(keys)
        raise
    limiter.forget("login:user", keys["login:user"])


@contextmanager
def query_code_attempt(request: Request, case_no: str) -> Iterator[None]:
    """Run a query-code lookup as one attempt: a NotFound counts against the case number and the address."""
    limiter = failure_limiter(request)
    keys = {"query_code:case": normal_case_no(case_no), "query_code:ip": client_address(request)}
    limiter.check(keys, "查询")
    try:
        yield
    except NotFound:
        limiter.failed(keys)
        raise
