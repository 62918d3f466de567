"""Login sessions and bearer tokens: made, looked up, revoked; only their digests are stored.

The client holds a random secret (256 bits); the store holds its SHA-256. A secret that is not
random enough to survive an offline guess would need a slow hash, but these are not chosen by
people, so one SHA-256 both protects them and lets every request be checked in one indexed
look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, NotSignedIn, UsageError
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Agency, ApiToken, LoginSession, User, utcnow
from vigil.workflows.operation.accounts import actor_for

MAX_TOKEN_DAYS = 366


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """Who a request acts as, and the CSRF digest when it came through a browser session."""

    actor: Actor
    csrf_hash: str | None


@dataclass(frozen=True)
class NewToken:
    name: str
    token: str
    expires_at: datetime


def start_session(store: Store, actor: Actor, lifetime: timedelta) -> NewSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = utcnow() + lifetime
    with store.transaction() as session:
        row = LoginSession(
            token_hash=digest(token),
            csrf_hash=digest(csrf),
            user_id=actor.user_id,
            expires_at=expires,
        )
        session.add(row)
        session.flush()
        audit.append(session, actor, "auth.login", "session", row.id, {})
    return NewSession(token, csrf, expires)


def _live_actor(store: Store, user_id: int) -> Actor:
    with store.reading() as session:
        row = session.execute(
            select(User, Agency).join(Agency, Agency.id == User.agency_id).where(User.id == user_id)
        ).first()
        if row is None or row[0].disabled:
            raise NotSignedIn("this account is disabled")
        return actor_for(row[0], row[1])


def session_user(store: Store, token: str) -> SignedIn:
    now = utcnow()
    with store.reading() as session:
        row = session.scalars(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise NotSignedIn("not signed in, or the session has expired")
        user_id, csrf_hash = row.user_id, row.csrf_hash
    return SignedIn(_live_actor(store, user_id), csrf_hash)


def end_session(store: Store, actor: Actor, token: str) -> None:
    with store.transaction() as session:
        row = session.scalars(
            select(LoginSession).where(LoginSession.token_hash == digest(token))
        ).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.append(session, actor, "auth.logout", "session", row.id, {})


@dataclass(frozen=True)
class TokenInfo:
    name: str
    username: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _holder(session: Session, actor: Actor, username: str | None) -> User:
    """The token's user: the actor, or (for an admin's page) a user of the actor's agency."""
    user = session.scalars(
        select(User).where(
            User.agency_id == actor.agency_id, User.username == (username or actor.username)
        )
    ).first()
    if user is None:
        raise NotFound(f"no user {actor.agency_code}/{username}")
    return user


def issue_token(
    store: Store, actor: Actor, name: str, days: int, username: str | None = None
) -> NewToken:
    """A named bearer token for scripts, valid ``days`` days; the secret is shown only now.

    ``username``: whose token it is, a user of the actor's own agency (an admin making the
    token a script signs in with, for the account made for that script); default the actor.
    The audit entry names both who made it and for whom."""
    if not name.strip() or len(name) > 100:
        raise UsageError("a token needs a name of 1-100 characters")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UsageError(f"a token lives 1 to {MAX_TOKEN_DAYS} days")
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days)
    with store.transaction() as session:
        holder = _holder(session, actor, username)
        if holder.disabled:
            raise UsageError(f"user {actor.agency_code}/{holder.username} is disabled")
        taken = session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == holder.id,
                ApiToken.name == name,
                ApiToken.revoked_at.is_(None),
            )
        ).first()
        if taken is not None:
            whose = "you already have" if holder.id == actor.user_id else f"{holder.username} has"
            raise UsageError(f"{whose} a token named {name!r}; revoke it first")
        row = ApiToken(name=name, token_hash=digest(token), user_id=holder.id, expires_at=expires)
        session.add(row)
        session.flush()
        details: dict[str, object] = {"name": name}
        if holder.id != actor.user_id:
            details["user"] = holder.username
        audit.append(session, actor, "token.create", "api_token", row.id, details)
    return NewToken(name, token, expires)


def list_tokens(store: Store, actor: Actor) -> list[TokenInfo]:
    """The tokens of the actor's agency, newest first (never their secrets)."""
    with store.reading() as session:
        rows = session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(User.agency_id == actor.agency_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).all()
        return [
            TokenInfo(t.name, username, t.created_at, t.expires_at, t.revoked_at)
            for t, username in rows
        ]


def token_user(store: Store, token: str) -> SignedIn:
    now = utcnow()
    with store.reading() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise NotSignedIn("unknown, revoked or expired token")
        user_id = row.user_id
    return SignedIn(_live_actor(store, user_id), None)


def revoke_token(store: Store, actor: Actor, name: str, username: str | None = None) -> None:
    """Revoke a live token of the actor's, or (``username``) of a user of the actor's agency."""
    with store.transaction() as session:
        holder = _holder(session, actor, username)
        row = session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == holder.id,
                ApiToken.name == name,
                ApiToken.revoked_at.is_(None),
            )
        ).first()
        if row is None:
            raise NotFound(f"no live token named {name!r}")
        row.revoked_at = utcnow()
        details: dict[str, object] = {"name": name}
        if holder.id != actor.user_id:
            details["user"] = holder.username
        audit.append(session, actor, "token.revoke", "api_token", row.id, details)
