"""Web sessions: the signed session cookie, the current user, and CSRF protection on every form."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from service.access.auth import Principal
from service.core.errors import DomainError, NotAuthenticated, PermissionDenied
from service.http.deps import CSRF_COOKIE, SESSION_COOKIE, case_access, csrf_matches, permission, session_of, signer_for
from service.http.errors import OUTAGES

CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """The page needs a logged-in member of staff; the app redirects to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def csrf_token(request: Request) -> str:
    """Return the page's CSRF token (the cookie's, or a new one the response will set)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, response: object) -> None:
    """Set the CSRF cookie when this request created the token."""
    token = getattr(request.state, "new_csrf", None)
    if token and hasattr(response, "set_cookie"):
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse a form post whose token does not match the cookie (double-submit)."""
    if not csrf_matches(request, csrf_token):
        raise PermissionDenied(
            "页面已过期，请刷新后重试 / the form has expired (CSRF check failed); reload and try again"
        )


async def session_user(request: Request) -> Principal | None:
    """Return the member of staff of the session cookie when its session is open, else None (also when the database
    cannot be asked: a page shown anonymously is no harm)."""
    known = getattr(request.state, "principal", None)
    if known is not None:
        return known
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        user = await session_of(request, signer_for(request).read(cookie, cookie=True))
    except (DomainError, *OUTAGES):
        return None
    request.state.principal = user
    return user


async def current_user(request: Request) -> Principal:
    """Return the logged-in member of staff (an open session), or send the browser to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired(str(request.url.path))
    try:
        user = await session_of(request, signer_for(request).read(cookie, cookie=True))
    except NotAuthenticated:
        raise LoginRequired(str(request.url.path)) from None
    request.state.principal = user
    return user


def login_redirect(next_url: str) -> RedirectResponse:
    """Return a redirect to the login page that comes back to next_url."""
    safe = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/workbench"
    return RedirectResponse(f"/login?next={safe}", status_code=303)


UserDep = Annotated[Principal, Depends(current_user)]
CsrfDep = Annotated[None, Depends(check_csrf)]


def page_permission(action: str) -> Any:
    """Return a page dependency: the logged-in member of staff, refused (403 page) unless their role may do `action`."""
    return permission(action, who=current_user)


def page_case(action: str) -> Any:
    """Return a page dependency: the path's case, 404 when the user may not see it, 403 when they may not do `action`."""
    return case_access(action, who=current_user)
