"""A server with two agencies on one store, a user of every role in each, and a little evidence.

Agency TEST (the fixture store's) and agency OTHER each hold one case with one source, one
subject sighted there and one file found there, so every scoped endpoint has an object of
the caller's own agency and one of another agency to ask for.
"""

from __future__ import annotations

import functools
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from vigil.server import ServerSettings, create_app
from vigil.server.app import settle_recomputations
from vigil.server.policy import ROLES
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Agency,
    Case,
    File,
    FileInstance,
    Referral,
    Selector,
    Series,
    Sighting,
    Subject,
    SubjectSelector,
    User,
)
from vigil.workflows.operation.accounts import actor_for, add_agency
from vigil.workflows.operation.credentials import issue_token
from vigil.workflows.operation.jobs import enqueue
from vigil.workflows.operation.setup import find_actor
from vigil.workflows.sources.provenance import digest_bytes, register_source

AGENCIES = ("TEST", "OTHER")
PASSWORD = "correct horse battery"


@dataclass
class AgencyObjects:
    case: str
    subject_id: int
    file_sha256: str
    accounts: tuple[str, str]
    job_id: int = 0


@dataclass
class Unit:
    store: Store
    app: FastAPI
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    objects: dict[str, AgencyObjects] = field(default_factory=dict)

    def settle(self) -> None:
        """Wait for the app's background recomputations (a fixture's teardown: a thread still
        reading would hold locks on the schema the store fixture drops next)."""
        settle_recomputations(self.app)

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def actor(self, agency: str, role: str) -> Actor:
        """The user of that role in that agency (looked up, not signed in: argon2 is slow)."""
        name = "admin" if (agency, role) == ("TEST", "admin") else f"{role}-{agency.lower()}"
        with self.store.reading() as session:
            user, found = session.execute(
                select(User, Agency)
                .join(Agency, Agency.id == User.agency_id)
                .where(Agency.code == agency, User.username == name)
            ).one()
            return actor_for(user, found)

    def signed_in(self, agency: str, role: str) -> TestClient:
        """A client signed in through the sign-in page, as a browser is: for the web pages."""
        client = self.client()
        signed = client.post(
            "/login",
            data={"agency": agency, "username": f"{role}-{agency.lower()}", "password": PASSWORD},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        return client

    def bearer(self, agency: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(agency, role)]}"}


def _evidence(store: Store, actor: Actor, reference: str, tag: str) -> AgencyObjects:
    """One case, one source, one sighted account made a subject, one file found in it."""
    content = f"evidence of {tag}".encode()
    with store.transaction() as session:
        case = Case(agency_id=actor.agency_id, reference=reference, lead_user_id=actor.user_id)
        session.add(case)
        session.flush()
        source = register_source(
            session,
            actor,
            kind="chat-jsonl",
            original_name=f"{tag}.jsonl",
            digest=digest_bytes(content),
            case_id=case.id,
        )
        selector = Selector(kind="username", platform="chat", value=tag, display=tag)
        second = Selector(kind="username", platform="chat", value=f"{tag}2", display=f"{tag}2")
        session.add_all([selector, second])
        session.flush()
        for seen in (selector, second):
            session.add(
                Sighting(
                    selector_id=seen.id,
                    source_id=source.id,
                    case_id=case.id,
                    agency_id=actor.agency_id,
                )
            )
        subject = Subject(label=f"subject {tag}", role="suspect")
        session.add(subject)
        session.flush()
        session.add(SubjectSelector(subject_id=subject.id, selector_id=selector.id))
        sha = hashlib.sha256(content + b"file").hexdigest()
        file = File(sha256=sha, size_bytes=len(content), mime="image/png")
        session.add(file)
        session.flush()
        session.add(FileInstance(file_id=file.id, source_id=source.id, path=f"/{tag}.png"))
    return AgencyObjects(reference, subject.id, sha, (f"chat:{tag}", f"chat:{tag}2"))


def free_port() -> int:
    """A loopback port free now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@functools.cache
def _password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


def add_test_user(store: Store, agency: str, username: str, role: str) -> None:
    """A user with ``PASSWORD``, hashed once per run (argon2id is slow on purpose)."""
    with store.transaction() as session:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == agency)).one()
        session.add(
            User(agency_id=agency_id, username=username, role=role, password_hash=_password_hash())
        )


def add_referral(unit: Unit, agency: str) -> int:
    """A referral of ``agency`` (its package need not exist to record its status)."""
    actor = unit.actor(agency, "investigator")
    with unit.store.transaction() as session:
        referral = Referral(
            country="GB",
            package_path="nowhere",
            sha256="0" * 64,
            agency_id=actor.agency_id,
            created_by=actor.user_id,
        )
        session.add(referral)
        session.flush()
        return referral.id


def add_series(unit: Unit, agency: str) -> int:
    """A series of ``agency``'s case."""
    reference, agency_id = unit.objects[agency].case, unit.actor(agency, "analyst").agency_id
    with unit.store.transaction() as session:
        case = session.scalars(
            select(Case).where(Case.reference == reference, Case.agency_id == agency_id)
        ).one()
        series = Series(label=f"camera of {reference}", case_id=case.id)
        session.add(series)
        session.flush()
        return series.id


def served_unit(store: Store, tmp_path: Path, **settings: object) -> Iterator[Unit]:
    """``make_unit`` for a fixture: its background recomputations end before the store goes."""
    unit = make_unit(store, tmp_path, **settings)
    yield unit
    unit.settle()


def make_unit(store: Store, tmp_path: Path, **settings: object) -> Unit:
    admin = find_actor(store, "TEST/admin")
    add_agency(store, admin, "OTHER", "Other unit", "GB")
    evidence = tmp_path / "evidence" / "device"
    evidence.mkdir(parents=True)
    (evidence / "note.txt").write_text("night all\n")
    server_settings = ServerSettings(
        evidence_root=evidence.parent,
        upload_dir=tmp_path / "uploads",
        referral_dir=tmp_path / "referrals",
        **settings,  # type: ignore[arg-type]
    )
    unit = Unit(store, create_app(store, server_settings))
    for agency in AGENCIES:
        for role in ROLES:
            if (agency, role) != ("TEST", "admin"):
                add_test_user(store, agency, f"{role}-{agency.lower()}", role)
            actor = unit.actor(agency, role)
            unit.tokens[(agency, role)] = issue_token(store, actor, "tests", 1).token
    for agency in AGENCIES:
        owner = unit.actor(agency, "investigator")
        unit.objects[agency] = _evidence(store, owner, f"{agency}-CASE", agency.lower())
        unit.objects[agency].job_id = enqueue(store, owner, "resolve", {}).id
    return unit
