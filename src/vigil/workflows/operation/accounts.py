"""Agencies and users: `vigil agency add`, `vigil user add/list/disable`, and signing in.

Passwords are hashed with argon2id. A sign-in checks the password against the stored hash
even for an unknown user (against a dummy hash), so the time it takes does not say whether
the name exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.country_codes import iso_country
from vigil.errors import NotFound, NotSignedIn, UsageError
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import USER_ROLES, Agency, User

_AGENCY_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# What an unknown user's sign-in verifies against, so that it takes as long as a known one's.
# A literal, not hashed at import: hashing costs half a second, which every command paid at
# start-up. A test checks that it still carries ``_hasher``'s parameters.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$"
    "v9QB89t6BuINdEYAyNF7Mg$Nes4WhIUJhcIjLbYMdehcTcESKtOCdef3JYUHPmLrws"
)


@dataclass(frozen=True)
class AgencyInfo:
    id: int
    code: str
    name: str
    country: str | None
    created: bool


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    agency: str
    disabled: bool


def actor_for(user: User, agency: Agency) -> Actor:
    return Actor(user.id, user.username, agency.id, agency.code, user.role)


def check_agency_code(code: str) -> str:
    if not _AGENCY_CODE.match(code):
        raise UsageError(f"agency code must be 1-32 letters, digits, '.', '_' or '-': {code!r}")
    return code


def check_new_user(username: str, role: str) -> None:
    """Checked before anything is asked: ``vigil user add`` prompts for a password after."""
    if not _USERNAME.match(username):
        raise UsageError(
            f"username must be 1-100 letters, digits, '.', '_', '@' or '-': {username!r}"
        )
    if role not in USER_ROLES:
        raise UsageError(f"role must be one of {', '.join(USER_ROLES)}: {role!r}")


def check_country(country: str | None) -> str | None:
    if country is None:
        return None
    code = iso_country(country)
    if code is None:
        raise UsageError(f"country must be an ISO 3166 alpha-2 code: {country!r}")
    return code


def add_agency(store: Store, actor: Actor, code: str, name: str, country: str | None) -> AgencyInfo:
    """Host another agency on this server. Adding the same code again changes nothing."""
    store.require_initialised()
    check_agency_code(code)
    country = check_country(country)
    if not name.strip():
        raise UsageError("an agency needs a name")
    with store.transaction() as session:
        existing = session.scalars(select(Agency).where(Agency.code == code)).first()
        if existing is not None:
            return AgencyInfo(existing.id, existing.code, existing.name, existing.country, False)
        agency = Agency(code=code, name=name, country=country)
        session.add(agency)
        session.flush()
        audit.append(
            session,
            actor,
            "agency.create",
            "agency",
            agency.id,
            {"code": code, "name": name, "country": country},
        )
        return AgencyInfo(agency.id, agency.code, agency.name, agency.country, True)


def find_agency(session: Session, code: str) -> Agency:
    agency = session.scalars(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        raise NotFound(f"no agency {code!r}; run `vigil agency add {code} --name NAME`")
    return agency


def add_user(
    store: Store,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    agency_code: str | None = None,
) -> UserInfo:
    """A new account in ``agency_code`` (default: the acting user's agency)."""
    store.require_initialised()
    check_new_user(username, role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    with store.transaction() as session:
        agency = find_agency(session, agency_code or actor.agency_code)
        taken = session.scalars(
            select(User).where(User.agency_id == agency.id, User.username == username)
        ).first()
        if taken is not None:
            raise UsageError(f"user {agency.code}/{username} already exists")
        user = User(
            agency_id=agency.id,
            username=username,
            role=role,
            password_hash=_hasher.hash(password),
        )
        session.add(user)
        session.flush()
        audit.append(
            session,
            actor,
            "user.create",
            "user",
            user.id,
            {"username": username, "role": role, "agency": agency.code},
        )
        return UserInfo(user.id, username, role, agency.code, False)


def list_users(store: Store, agency_code: str | None = None) -> list[UserInfo]:
    store.require_initialised()
    with store.reading() as session:
        query = select(User, Agency).join(Agency, Agency.id == User.agency_id)
        if agency_code is not None:
            query = query.where(Agency.code == agency_code)
        rows = session.execute(query.order_by(Agency.code, User.username)).all()
        return [UserInfo(u.id, u.username, u.role, a.code, u.disabled) for u, a in rows]


def disable_user(
    store: Store, actor: Actor, username: str, agency_code: str | None = None
) -> UserInfo:
    """Disable an account: its sessions and tokens stop working at once."""
    store.require_initialised()
    with store.transaction() as session:
        agency = find_agency(session, agency_code or actor.agency_code)
        user = session.scalars(
            select(User).where(User.agency_id == agency.id, User.username == username)
        ).first()
        if user is None:
            raise NotFound(f"no user {agency.code}/{username}")
        if not user.disabled:
            user.disabled = True
            audit.append(session, actor, "user.disable", "user", user.id, {"username": username})
        return UserInfo(user.id, user.username, user.role, agency.code, True)


def authenticate(store: Store, agency_code: str, username: str, password: str) -> Actor:
    """The actor for a correct, enabled account; otherwise one message for every failure."""
    with store.reading() as session:
        row = session.execute(
            select(User, Agency)
            .join(Agency, Agency.id == User.agency_id)
            .where(Agency.code == agency_code, User.username == username)
        ).first()
        stored = row[0].password_hash if row and row[0].password_hash else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
            verified = row is not None and stored is not _DUMMY_HASH
        except (VerificationError, InvalidHashError):
            verified = False
        if not verified or row is None or row[0].disabled:
            raise NotSignedIn("wrong agency, username or password")
        return actor_for(row[0], row[1])
