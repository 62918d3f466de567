"""The store on both databases: schema, provenance, audit chain, tamper detection."""

from __future__ import annotations

import itertools

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.actors import admin_actor
from vigil.store.audit import verify_chain
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Base, Event, File, Selector, Sighting, Source
from vigil.workflows.operation.setup import init_store, open_case, resolve_actor
from vigil.workflows.sources.ingest_files import bulk_insert
from vigil.workflows.sources.provenance import digest_bytes, register_source

STATEMENT_CHECKED = ("sighting", "event")  # migration 0017: PostgreSQL checks these per statement


def test_migrations_create_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    if store.dialect == "postgresql":
        # Every foreign key of the two big tables, and only those, is a statement trigger.
        replaced = [d for d in differences if d[0] == "add_fk"]
        assert sorted((d[1].parent.name, d[1].column_keys[0]) for d in replaced) == sorted(
            (name, key.parent.name)
            for name in STATEMENT_CHECKED
            for key in Base.metadata.tables[name].foreign_keys
        )
        differences = [d for d in differences if d[0] != "add_fk"]
    assert differences == []


def _sighting(selector_id: int, source_id: int) -> dict[str, object]:
    return {"selector_id": selector_id, "source_id": source_id, "case_id": 1, "agency_id": 1}


def _event(file_id: int | None, source_id: int) -> dict[str, object]:
    return {"kind": "upload", "file_id": file_id, "source_id": source_id, "agency_id": 1}


def _source_and_selector(store: Store) -> tuple[int, int]:
    with store.transaction() as session:
        actor = resolve_actor(session, "admin")
        source = register_source(
            session,
            actor,
            kind="cybertip",
            original_name="r.xml",
            digest=digest_bytes(b"references"),
            case_id=1,
        )
        selector = Selector(kind="email", platform="", value="a@b.example", display="a@b.example")
        session.add(selector)
        session.flush()
        return source.id, selector.id


@pytest.mark.parametrize("how", ["bulk", "orm"])
def test_rows_naming_missing_rows_are_refused_on_both_stores(store: Store, how: str) -> None:
    """Bulk inserts (COPY on PostgreSQL) and single rows alike; nothing of the statement stays."""
    source_id, selector_id = _source_and_selector(store)
    bad = [
        (Sighting, [_sighting(selector_id, source_id), _sighting(selector_id + 999, source_id)]),
        (Sighting, [_sighting(selector_id, source_id + 999)]),
        (Event, [_event(None, source_id), _event(12345, source_id)]),
    ]
    for model, rows in bad:
        with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
            if how == "bulk":
                bulk_insert(session, model, rows)
            else:
                session.add_all(model(**row) for row in rows)
                session.flush()
    with Session(store.engine) as session, session.begin():
        bulk_insert(session, Sighting, [_sighting(selector_id, source_id)])
        session.add(Event(**_event(None, source_id)))
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Sighting)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_row_still_named_cannot_be_deleted_on_both_stores(store: Store) -> None:
    source_id, selector_id = _source_and_selector(store)
    with Session(store.engine) as session, session.begin():
        named, unnamed = File(sha256="a" * 64), File(sha256="b" * 64)
        session.add_all([named, unnamed])
        session.flush()
        named_id, unnamed_id = named.id, unnamed.id
        bulk_insert(session, Event, [_event(named_id, source_id)])
        bulk_insert(session, Sighting, [_sighting(selector_id, source_id)])
    for model, row_id in ((File, named_id), (Selector, selector_id), (Source, source_id)):
        with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
            session.execute(delete(model).where(model.id == row_id))
    with Session(store.engine) as session, session.begin():
        session.execute(delete(File).where(File.id == unnamed_id))
    with store.reading() as session:
        assert session.scalars(select(File.id)).all() == [named_id]


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
