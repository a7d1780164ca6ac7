"""FastAPI dependencies shared by the API and the pages: settings, the database opened in the app's lifespan, the
logged-in member of staff, and the permission each route asks for (service/access/permissions.py)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any
from urllib.parse import urlsplit

import psycopg
from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.access import permissions
from service.access.auth import Principal, TokenSigner, query_code_key, secret_key, session_principal
from service.core.errors import Conflict, NotAuthenticated, PermissionDenied, Unavailable
from service.core.models import Case
from service.core.settings import Settings
from service.http.reads import ReadRouting

SESSION_COOKIE = "lw_session"
CSRF_COOKIE = "lw_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ID = 2**63 - 1  # ids are bigint: a larger number in a path would reach PostgreSQL and fail there
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with (async: cheap dependencies stay off the thread pool)."""
    return request.app.state.settings


async def get_pool(request: Request) -> AsyncConnectionPool:
    """Return the connection pool opened in the lifespan."""
    pool = getattr(request.app.state, "pool", None)
    if pool is None:
        raise Unavailable("数据库连接池未打开 / the database pool is not open")
    return pool


async def get_conn(
    request: Request, pool: Annotated[AsyncConnectionPool, Depends(get_pool)]
) -> AsyncIterator[AsyncConnection]:
    """Yield a pooled connection for one request (a 503 when none comes within LANDWINDOW_DB_WAIT_SECONDS)."""
    async with pool.connection(timeout=request.app.state.settings.db_wait_seconds) as conn:
        yield conn


async def get_reads(request: Request) -> ReadRouting:
    """Return where read-only work runs (a replica, else the primary), opened in the lifespan."""
    reads = getattr(request.app.state, "reads", None)
    if reads is None:
        raise Unavailable("数据库连接池未打开 / the database pool is not open")
    return reads


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
ReadsDep = Annotated[ReadRouting, Depends(get_reads)]


def get_session(request: Request) -> Iterator[Session]:
    """Yield an ORM session whose transaction commits when the request succeeds and rolls back otherwise."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        raise Unavailable("数据库未连接 / the database is not connected")
    info = {"query_code_key": code_key_for(request), "settings": request.app.state.settings}
    with Session(engine, expire_on_commit=False, info=info) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if isinstance(exc.orig, psycopg.errors.TransactionRollback):
                # two changes that touch each other's cases at the same instant (a deadlock, a serialisation
                # failure): PostgreSQL refused this one, and nothing of it was written
                raise Conflict(
                    "另一项操作同时涉及相同的案件，本次操作未保存，请重试 / another change touched the same cases at "
                    "the same moment; nothing of this one was saved: try again"
                ) from exc
            raise
        except BaseException:
            session.rollback()
            raise


def get_read_session(request: Request) -> Iterator[Session]:
    """Yield a read-only ORM session on a replica when one is usable, else on the primary (service/http/reads.py)."""
    reads = getattr(request.app.state, "reads", None)
    if reads is None:
        raise Unavailable("数据库未连接 / the database is not connected")
    info = {"query_code_key": code_key_for(request), "settings": request.app.state.settings}
    with reads.session(info) as session:
        yield session


async def get_signer(request: Request) -> TokenSigner:
    """Return the token signer built from the app's settings."""
    return signer_for(request)


def signer_for(request: Request) -> TokenSigner:
    """Return the app's token signer, built once from its settings."""
    signer = getattr(request.app.state, "signer", None)
    if signer is None:
        settings: Settings = request.app.state.settings
        signer = TokenSigner(secret_key(settings), settings.token_minutes * 60)
        request.app.state.signer = signer
    return signer


def code_key_for(request: Request) -> bytes:
    """Return the app's query-code HMAC key, derived once from its settings' secret key."""
    key = getattr(request.app.state, "query_code_key", None)
    if key is None:
        key = request.app.state.query_code_key = query_code_key(request.app.state.settings)
    return key


async def session_of(request: Request, session_id: str) -> Principal:
    """Return the member of staff of an open login session, read from the database (one indexed query)."""
    pool = await get_pool(request)
    async with pool.connection(timeout=request.app.state.settings.db_wait_seconds) as conn:
        return await session_principal(conn, session_id)


async def get_principal(
    request: Request,
    signer: Annotated[TokenSigner, Depends(get_signer)],
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Return the logged-in member of staff from the bearer token or the session cookie.

    The token or cookie names a login session; the session and the account are read on every request, so a logout,
    a changed password or role, or a deactivation takes effect at once. A browser sends the cookie with any site's
    request: a cookie-authenticated unsafe request must prove it comes from our own pages (see
    cookie_request_is_ours). A bearer token is never sent by a browser on its own.
    """
    if token:
        principal = await session_of(request, signer.read(token))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthenticated("请先登录 / log in first")
        principal = await session_of(request, signer.read(cookie, cookie=True))
        if request.method not in SAFE_METHODS and not cookie_request_is_ours(request):
            raise PermissionDenied(
                "跨站请求校验失败：请带上页面的 X-CSRF-Token 或使用令牌 / CSRF check failed: send the page's X-CSRF-Token "
                "header or use a bearer token"
            )
    request.state.principal = principal
    return principal


def csrf_matches(request: Request, token: str) -> bool:
    """Return whether a submitted token equals the request's CSRF cookie (the double-submit check)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    # compared as bytes: compare_digest refuses non-ASCII text, and a submitted token may be anything
    return bool(cookie and token and hmac.compare_digest(cookie.encode(), token.encode()))


def cookie_request_is_ours(request: Request) -> bool:
    """Return whether a cookie-authenticated request carries the CSRF token, or an Origin of this very site.

    The token is the double-submit one of the forms (the `lw_csrf` cookie, echoed in the X-CSRF-Token header);
    the Origin must name the host the request was sent to (a browser cannot forge it; a missing Origin fails).
    """
    if csrf_matches(request, request.headers.get(CSRF_HEADER, "")):
        return True
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return bool(origin and host and origin != "null" and urlsplit(origin).netloc.lower() == host.lower())


# scope="function": commit before the response is sent. With FastAPI's default ("request") the commit ran after
# the client had its 201, so a crash or a failed commit lost a case whose receipt was already handed out
# (scripts/crash_test.py found one, its number then given to the next applicant).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SignerDep = Annotated[TokenSigner, Depends(get_signer)]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="the case's id")]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="the review task's id")]


def permission(action: str, who: Any = get_principal) -> Any:
    """Return a dependency giving the member of staff (found by `who`), refused unless their role may do `action`."""

    async def allowed(principal: Principal = Depends(who)) -> Principal:
        permissions.require(principal, action)
        return principal

    allowed.permission = action  # type: ignore[attr-defined]  # the route test reads what each route asks
    return Depends(allowed)


def case_access(action: str, who: Any = get_principal) -> Any:
    """Return a dependency giving the path's case: 404 when the member of staff may not see it, 403 when their role
    may not do `action` on it."""

    def visible(case_id: CaseId, session: SessionDep, principal: Principal = Depends(who)) -> Case:
        case = permissions.visible_case(session, principal, case_id)
        permissions.require(principal, action)
        return case

    visible.permission = action  # type: ignore[attr-defined]
    return Depends(visible)
