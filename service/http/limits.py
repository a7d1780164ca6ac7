"""Failure limits of logins and query-code lookups, per client address, per username or case number, and per both.

Shared by the API and the pages (/login, /portal): the same counters (in PostgreSQL, service/access/failures.py),
so one door gives no extra guesses, and neither does another worker or a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from service.access.failures import FailureLimiter
from service.cases.lookup import normal_case_no
from service.core.errors import NotAuthenticated, NotFound, TooManyAttempts


def failure_limiter(request: Request) -> FailureLimiter:
    """Return the app's limiter, made once from its settings over its database engine."""
    limiter = getattr(request.app.state, "failure_limiter", None)
    if limiter is None:
        limiter = FailureLimiter.from_settings(request.app.state.engine, request.app.state.settings)
        request.app.state.failure_limiter = limiter
    return limiter


def client_address(request: Request) -> str:
    """Return the client's address (behind a proxy, uvicorn's --proxy-headers puts the forwarded one here)."""
    return request.client.host if request.client else "unknown"


@contextmanager
def login_attempt(request: Request, username: str) -> Iterator[None]:
    """Run a password check as one attempt: counted first, given back when the password was right."""
    limiter = failure_limiter(request)
    name, address = username.strip(), client_address(request)
    keys = {"login:user+ip": f"{address} {name}", "login:ip": address, "login:user": name}
    limiter.reserve(keys, "登录")
    try:
        yield
    except NotAuthenticated:
        raise  # a wrong password: the attempt stays counted
    except BaseException:
        limiter.refund(keys)  # the attempt did not get to the password (a database error): not a failure
        raise
    limiter.refund(keys, forget=("login:user+ip",))


ONLINE_SCOPES = {"online:apply": "网上申报", "online:check": "一张图预检", "online:respond": "异议和听证申请"}
ONLINE_SCOPE_EN = {
    "online:apply": "applications",
    "online:check": "pre-checks and supplements",
    "online:respond": "objections and hearing requests",
}
"""What the online window limits per client address (every attempt counts, right or wrong): the settings
online_applications_per_ip, online_checks_per_ip (pre-checks and supplements), online_responses_per_ip."""


def online_attempt(request: Request, scope: str) -> None:
    """Count one use of the online window by the client's address (refused with 429 once its limit is used up)."""
    limiter = failure_limiter(request)
    keys = {scope: client_address(request)}
    try:
        limiter.reserve(keys, ONLINE_SCOPES[scope])
    except TooManyAttempts as exc:
        minutes = max(1, math.ceil(exc.retry_after / 60))
        raise TooManyAttempts(
            f"本地址的{ONLINE_SCOPES[scope]}次数已达上限，请 {minutes} 分钟后再试 / this address has sent as many "
            f"{ONLINE_SCOPE_EN[scope]} as allowed for now; try again in {exc.retry_after} seconds",
            retry_after=exc.retry_after,
        ) from None


@contextmanager
def query_code_attempt(request: Request, case_no: str) -> Iterator[None]:
    """Run a query-code lookup as one attempt: counted first, given back when the number and code were right."""
    limiter = failure_limiter(request)
    number, address = normal_case_no(case_no), client_address(request)
    keys = {"query_code:case+ip": f"{address} {number}", "query_code:ip": address, "query_code:case": number}
    limiter.reserve(keys, "查询")
    try:
        yield
    except NotFound:
        raise
    except BaseException:
        limiter.refund(keys)
        raise
    limiter.refund(keys)
