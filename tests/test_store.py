"""The store on both databases: schema, provenance, audit chain, tamper detection."""

from __future__ import annotations

import itertools

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from tests.actors import admin_actor
from vigil.store.audit import verify_chain
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Base, Source
from vigil.workflows.operation.setup import init_store, open_case, resolve_actor
from vigil.workflows.sources.provenance import digest_bytes, register_source


def test_migrations_create_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_init_twice_changes_nothing(store: Store) -> None:
    with store.reading() as session:
        before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    again = init_store(store, "TEST")
    assert again.created is False
    with store.reading() as session:
        after = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert after == before


def test_sqlite_runs_with_wal_and_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_same_bytes_register_once_with_provenance(store: Store) -> None:
    digest = digest_bytes(b"report body")
    with store.transaction() as session:
        actor = resolve_actor(session, "admin")
        first = register_source(
            session, actor, kind="cybertip", original_name="r1.xml", digest=digest, case_id=1
        )
    with store.transaction() as session:
        second = register_source(
            session, actor, kind="cybertip", original_name="copy.xml", digest=digest, case_id=1
        )
    assert first.created and not second.created
    assert first.id == second.id
    with store.reading() as session:
        source = session.get(Source, first.id)
        assert source is not None
        assert source.sha256 == digest.sha256
        assert source.size_bytes == len(b"report body")
        assert (source.agency_id, source.user_id, source.case_id) == (
            actor.agency_id,
            actor.user_id,
            1,
        )
        assert source.ingested_at.tzinfo is not None
        count = session.scalar(select(Source.id).where(Source.sha256 == digest.sha256))
        assert count == first.id


def test_every_write_is_audited_in_a_chain(store: Store) -> None:
    open_case(store, admin_actor(store), "CASE-2", "second")
    with store.reading() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        report = verify_chain(session)
    assert [e.action for e in entries] == ["agency.create", "user.create", "case.open", "case.open"]
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert report.ok and report.entries == 4


def test_verify_names_the_first_tampered_row(store: Store) -> None:
    open_case(store, admin_actor(store), "CASE-2", "second")
    with store.engine.begin() as connection:
        target = connection.execute(
            text("SELECT id FROM audit_entry WHERE action = 'case.open' ORDER BY id LIMIT 1")
        ).scalar_one()
        connection.execute(
            text("UPDATE audit_entry SET details = :d WHERE id = :id"),
            {"d": '{"reference": "forged"}', "id": target},
        )
    with store.reading() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_broken_id == target
    assert report.entries == target - 1


def test_verify_catches_a_deleted_row(store: Store) -> None:
    open_case(store, admin_actor(store), "CASE-2", "second")
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = 2"))
    with store.reading() as session:
        report = verify_chain(session)
    assert report.first_broken_id == 3
