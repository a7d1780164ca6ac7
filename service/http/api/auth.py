"""Staff login: the OAuth2 password form for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from service.access.auth import Principal, authenticate, end_session, principal_of, start_session
from service.core.audit import audit
from service.http.deps import SessionDep, SignerDep, permission
from service.http.limits import client_address, login_attempt
from service.http.schemas import Token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=Token, summary="Log in with username and password")
def token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, signer: SignerDep
) -> Token:
    """Return a bearer token for a member of staff (429 with Retry-After after too many failures)."""
    with login_attempt(request, form.username):
        user = authenticate(session, form.username, form.password)
    audit(session, principal_of(user).actor, "auth.login", None, None, {"via": "api"})
    session_id = start_session(session, user, "api", signer.max_age, client_address(request))
    return Token(access_token=signer.issue(session_id), expires_in=signer.max_age, role=user.role)


@router.get("/me", summary="Who am I")
def me(principal: Annotated[Principal, permission("account.read")]) -> dict[str, object]:
    """Return the logged-in user's name, role and department."""
    return {"username": principal.username, "role": principal.role, "department": principal.department}


@router.post("/logout", status_code=204, summary="End this login (the token or cookie no longer opens anything)")
def logout(principal: Annotated[Principal, permission("account.read")], session: SessionDep) -> Response:
    """End the session of the bearer token (or cookie) this request came with."""
    if principal.session_id:
        end_session(session, principal.session_id)
        audit(session, principal.actor, "auth.logout", None, None, {"via": "api"})
    return Response(status_code=204)
