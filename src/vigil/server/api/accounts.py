"""Sign-in, sign-out, bearer tokens, and (for admins) users and agencies."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from vigil.errors import NotSignedIn, TooManyAttempts
from vigil.server.auth import SESSION_COOKIE, allow, public, store_of
from vigil.server.policy import Permission
from vigil.store.db import Actor
from vigil.workflows.operation import accounts, credentials

router = APIRouter(prefix="/api", tags=["accounts"])


class Login(BaseModel):
    agency: str = Field(min_length=1, max_length=32)
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class CsrfToken(BaseModel):
    csrf_token: str
    expires_at: str


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    days: int = Field(default=30, ge=1, le=credentials.MAX_TOKEN_DAYS)


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    role: str
    password: str = Field(min_length=1, max_length=1000)
    agency: str | None = None


def _me(actor: Actor) -> dict[str, Any]:
    return {
        "user_id": actor.user_id,
        "username": actor.username,
        "agency": actor.agency_code,
        "role": actor.role,
    }


CSRF_COOKIE = "vigil_csrf"
"""The CSRF token again, HttpOnly: the server-rendered pages write it into their forms."""


def sign_in(
    request: Request, response: Response, agency: str, username: str, password: str
) -> Actor:
    """Check the password (throttled), start a session and set its cookies on ``response``.

    The API's login and the web sign-in page both come through here. The CSRF token is set
    as a cookie for the pages and left in ``request.state.csrf_token`` for the API's reply.
    """
    throttle = request.app.state.login_throttle
    key = f"{agency.casefold()}/{username.casefold()}"
    wait = throttle.wait_before(key)
    if wait is None:
        raise TooManyAttempts("too many failed sign-ins for this account; try again later")
    if wait:
        time.sleep(wait)
    store = store_of(request)
    try:
        actor = accounts.authenticate(store, agency, username, password)
    except NotSignedIn:
        throttle.failed(key)
        raise
    throttle.succeeded(key)
    settings = request.app.state.settings
    new = credentials.start_session(store, actor, settings.session_lifetime)
    for name, value in ((SESSION_COOKIE, new.token), (CSRF_COOKIE, new.csrf_token)):
        response.set_cookie(
            name,
            value,
            max_age=int(settings.session_lifetime.total_seconds()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
        )
    request.state.csrf_token = new.csrf_token
    request.state.session_expires_at = new.expires_at
    return actor


def sign_out(request: Request, response: Response, actor: Actor) -> None:
    """End the session of this request's cookie and clear the cookies."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        credentials.end_session(store_of(request), actor, cookie)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, samesite="strict")


@router.post("/auth/login", response_model=CsrfToken, dependencies=[Depends(public)])
def login(body: Login, request: Request, response: Response) -> CsrfToken:
    """Sign in: sets the HttpOnly session cookie and returns the CSRF token for writes."""
    sign_in(request, response, body.agency, body.username, body.password)
    return CsrfToken(
        csrf_token=request.state.csrf_token,
        expires_at=request.state.session_expires_at.isoformat(),
    )


@router.post("/auth/logout")
def logout(
    request: Request, response: Response, actor: Actor = Depends(allow(Permission.SIGNED_IN))
) -> dict[str, bool]:
    sign_out(request, response, actor)
    return {"signed_out": True}


@router.get("/auth/me")
def me(actor: Actor = Depends(allow(Permission.SIGNED_IN))) -> dict[str, Any]:
    return _me(actor)


@router.post("/auth/tokens", status_code=201)
def make_token(
    body: TokenRequest, request: Request, actor: Actor = Depends(allow(Permission.SIGNED_IN))
) -> dict[str, str]:
    """A bearer token for scripts; its secret is returned once and only its hash is kept."""
    new = credentials.issue_token(store_of(request), actor, body.name, body.days)
    return {"name": new.name, "token": new.token, "expires_at": new.expires_at.isoformat()}


@router.delete("/auth/tokens/{name}")
def revoke_token(
    name: str, request: Request, actor: Actor = Depends(allow(Permission.SIGNED_IN))
) -> dict[str, bool]:
    credentials.revoke_token(store_of(request), actor, name)
    return {"revoked": True}


@router.get("/users")
def users(
    request: Request, actor: Actor = Depends(allow(Permission.ADMINISTER))
) -> list[dict[str, Any]]:
    """The users of the admin's agency (`vigil user list --json`)."""
    found = accounts.list_users(store_of(request), actor.agency_code)
    return [dataclasses.asdict(u) for u in found]


@router.post("/users", status_code=201)
def add_user(
    body: NewUser, request: Request, actor: Actor = Depends(allow(Permission.ADMINISTER))
) -> dict[str, Any]:
    """A user of the admin's own agency."""
    made = accounts.add_user(
        store_of(request), actor, body.username, body.role, body.password, actor.agency_code
    )
    return dataclasses.asdict(made)


@router.post("/users/{username}/disable")
def disable_user(
    username: str, request: Request, actor: Actor = Depends(allow(Permission.ADMINISTER))
) -> dict[str, Any]:
    return dataclasses.asdict(
        accounts.disable_user(store_of(request), actor, username, actor.agency_code)
    )
