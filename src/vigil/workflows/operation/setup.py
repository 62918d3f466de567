"""Setting up a database: the schema, the agency, its local admin, and cases."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Agency, Case, CaseShare, User
from vigil.workflows.operation.accounts import check_agency_code, check_country


@dataclass(frozen=True)
class InitResult:
    agency_code: str
    created: bool
    admin_username: str
    admin_password: str | None


def init_store(
    store: Store,
    agency_code: str,
    agency_name: str | None = None,
    country: str | None = None,
    admin_password: str | None = None,
) -> InitResult:
    """Migrate, then create the agency and its admin. Running it again changes nothing."""
    check_agency_code(agency_code)
    country = check_country(country)
    store.migrate()
    with store.transaction() as session:
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
        if agency is not None:
            return InitResult(agency_code, False, "admin", None)
        agency = Agency(code=agency_code, name=agency_name or agency_code, country=country)
        session.add(agency)
        session.flush()
        password = admin_password or secrets.token_urlsafe(12)
        admin = User(
            agency_id=agency.id,
            username="admin",
            role="admin",
            password_hash=PasswordHasher().hash(password),
        )
        session.add(admin)
        session.flush()
        actor = Actor(admin.id, admin.username, agency.id, agency.code, admin.role)
        audit.append(
            session,
            actor,
            "agency.create",
            "agency",
            agency.id,
            {"code": agency.code, "name": agency.name, "country": country},
        )
        audit.append(
            session, actor, "user.create", "user", admin.id, {"username": "admin", "role": "admin"}
        )
    return InitResult(agency_code, True, "admin", password)


def resolve_actor(session: Session, spec: str) -> Actor:
    """The user named by ``spec`` (``[AGENCY/]NAME``); the interfaces decide who is acting."""
    agency: str | None = None
    if "/" in spec:
        agency, spec = spec.split("/", 1)
    query = (
        select(User, Agency).join(Agency, User.agency_id == Agency.id).where(User.username == spec)
    )
    if agency:
        query = query.where(Agency.code == agency)
    row = session.execute(query.order_by(Agency.id).limit(1)).first()
    if row is None:
        raise NotFound(f"no user {spec!r}; run `vigil init --agency CODE` first")
    user, found_agency = row
    return Actor(user.id, user.username, found_agency.id, found_agency.code, user.role)


def find_actor(store: Store, spec: str) -> Actor:
    """``resolve_actor`` in a read transaction of its own, for an interface about to act."""
    store.require_initialised()
    with store.reading() as session:
        return resolve_actor(session, spec)


@dataclass(frozen=True)
class CaseInfo:
    id: int
    reference: str
    title: str | None
    status: str
    created: bool


def open_case(store: Store, actor: Actor, reference: str, title: str | None = None) -> CaseInfo:
    store.require_initialised()
    if not reference.strip():
        raise UsageError("a case reference cannot be empty")
    with store.transaction() as session:
        case = session.scalars(
            select(Case).where(Case.agency_id == actor.agency_id, Case.reference == reference)
        ).first()
        if case is not None:
            return CaseInfo(case.id, case.reference, case.title, case.status, False)
        case = Case(
            agency_id=actor.agency_id, reference=reference, title=title, lead_user_id=actor.user_id
        )
        session.add(case)
        session.flush()
        audit.append(
            session, actor, "case.open", "case", case.id, {"reference": reference, "title": title}
        )
        return CaseInfo(case.id, case.reference, case.title, case.status, True)


def find_case(session: Session, actor: Actor, reference: str) -> Case:
    """The acting agency's case, else one another agency shared with it to contribute to."""
    case = session.scalars(
        select(Case).where(Case.agency_id == actor.agency_id, Case.reference == reference)
    ).first()
    if case is None:
        case = session.scalars(
            select(Case)
            .join(CaseShare, CaseShare.case_id == Case.id)
            .where(
                CaseShare.agency_id == actor.agency_id,
                CaseShare.access == "contribute",
                Case.reference == reference,
            )
            .order_by(Case.id)
        ).first()
    if case is None:
        raise NotFound(
            f"no case {reference!r} in agency {actor.agency_code}; "
            f"run `vigil case open {reference}`"
        )
    return case
