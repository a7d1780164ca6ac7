"""Failure limits of logins and query-code lookups, per client address, per username or case number, and per both.

Shared by the API and the pages (/login, /portal): the same counters (in PostgreSQL, service/access/failures.py),
so one door gives no extra guesses, and neither does another worker or a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from service.access.failures import FailureLimiter
from service.cases.lookup import normal_case_no
from service.core.errors import NotAuthenticated, NotFound


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
