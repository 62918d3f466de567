"""Signing requests in: a bearer token or the session cookie, the CSRF check, the role check.

Every API route depends on ``allow(permission)`` (or ``public``); the authorisation matrix
test reads that dependency from the route table, so a route without one fails the test.
Routers that carry their own authentication (federation peers sign their requests) are
included with ``include_own_auth`` and never see sessions or CSRF.
"""

from __future__ import annotations

from fastapi import Request

from vigil.errors import Forbidden, NotSignedIn
from vigil.server.policy import Permission, may
from vigil.store.db import Actor, Store
from vigil.workflows.operation.credentials import SignedIn, same_secret, session_user, token_user

SESSION_COOKIE = "vigil_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def signed_in(request: Request) -> SignedIn:
    """Who sent this request; a bearer token wins over a cookie (scripts send no cookies)."""
    store = store_of(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("the Authorization header must be 'Bearer TOKEN'")
        return token_user(store, token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return session_user(store, cookie)
    raise NotSignedIn("sign in first (POST /api/auth/login) or send a bearer token")


class Requires:
    """The dependency that admits a request holding ``permission``; it returns the Actor."""

    def __init__(self, permission: Permission):
        self.permission = permission

    def __call__(self, request: Request) -> Actor:
        who = signed_in(request)
        if who.csrf_hash is not None and request.method not in SAFE_METHODS:
            token = request.headers.get(CSRF_HEADER)
            if not token or not same_secret(token, who.csrf_hash):
                raise Forbidden(f"this request needs the {CSRF_HEADER} header from sign-in")
        if not may(who.actor.role, self.permission):
            raise Forbidden(f"the {who.actor.role} role may not: {self.permission.value}")
        request.state.actor = who.actor
        return who.actor


class Public:
    """Marks a route that needs no sign-in (sign-in itself, the OpenAPI document)."""

    def __call__(self) -> None:
        return None


_REQUIRES = {permission: Requires(permission) for permission in Permission}
public = Public()


def allow(permission: Permission) -> Requires:
    return _REQUIRES[permission]
