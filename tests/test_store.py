"""The store on both databases: schema, provenance, audit chain, tamper detection."""

from __future__ import annotations

import itertools

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tests.actors import admin_actor
from vigil.store.audit import verify_chain
from vigil.store.bulk import bulk_insert
from vigil.store.db import SQLITE_CACHE_KIB, SQLITE_PAGE_BYTES, Store
from vigil.store.models import (
    Agency,
    AuditEntry,
    Base,
    Case,
    Event,
    File,
    Selector,
    Sighting,
    Source,
)
from vigil.workflows.operation.setup import init_store, open_case, resolve_actor
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


MISSING_ID = 999_999


def _parents_with_distinct_ids(store: Store) -> dict[str, int]:
    """One row in each table that sightings and events name, each with an id none of the
    others has, so a check made against the wrong table cannot pass by chance. The agency
    and case named are named by nothing else (the source belongs to another pair), so
    deleting them is refused only by the sighting's and event's references."""
    ids = {"agency": 9106, "case_file": 9107, "source": 9103, "selector": 9104, "file": 9105}
    with Session(store.engine) as session, session.begin():
        session.add_all(
            [Agency(id=9101, code="HOME", name="Home"), Agency(id=9106, code="OTHER", name="Other")]
        )
        session.flush()
        session.add_all(
            [
                Case(id=9102, agency_id=9101, reference="C-1"),
                Case(id=9107, agency_id=9101, reference="C-2"),
            ]
        )
        session.flush()
        session.add_all(
            [
                Source(
                    id=ids["source"],
                    kind="cybertip",
                    original_name="x.xml",
                    sha256="c" * 64,
                    size_bytes=1,
                    case_id=9102,
                    agency_id=9101,
                    user_id=1,
                ),
                Selector(
                    id=ids["selector"],
                    kind="email",
                    platform="",
                    value="x@y.example",
                    display="x@y.example",
                ),
                File(id=ids["file"], sha256="d" * 64),
            ]
        )
    return ids


def _row_naming_every_parent(table: str, parents: dict[str, int]) -> dict[str, object]:
    row: dict[str, object] = {"kind": "upload"} if table == "event" else {}
    for key in Base.metadata.tables[table].foreign_keys:
        row[key.parent.name] = parents[key.column.table.name]
    return row


@pytest.mark.parametrize("how", ["bulk", "orm"])
def test_rows_naming_missing_rows_are_refused_on_both_stores(store: Store, how: str) -> None:
    """Bulk inserts (COPY on PostgreSQL) and single rows alike; nothing of the statement stays,
    not even its valid rows."""
    parents = _parents_with_distinct_ids(store)
    sighting = _row_naming_every_parent("sighting", parents)
    event = _row_naming_every_parent("event", parents)
    bad = [
        (Sighting, [sighting, {**sighting, "selector_id": MISSING_ID}]),
        (Sighting, [{**sighting, "source_id": MISSING_ID}]),
        (Event, [event, {**event, "file_id": MISSING_ID}]),
    ]
    for model, rows in bad:
        with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
            if how == "bulk":
                bulk_insert(session, model, rows)
            else:
                session.add_all(model(**row) for row in rows)
                session.flush()
    with Session(store.engine) as session, session.begin():
        bulk_insert(session, Sighting, [sighting])
        session.add(Event(**event))
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Sighting)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_every_reference_of_sightings_and_events_is_checked_on_both_stores(store: Store) -> None:
    """Each foreign key the models declare, one at a time: a row naming every parent is
    accepted; the same row with one reference missing is refused, inserted in bulk or
    updated; a parent still named cannot be deleted. On PostgreSQL these are the statement
    triggers of migration 0017, on SQLite the foreign keys."""
    parents = _parents_with_distinct_ids(store)
    models = {"sighting": Sighting, "event": Event}
    for table, model in models.items():
        with Session(store.engine) as session, session.begin():
            bulk_insert(session, model, [_row_naming_every_parent(table, parents)])
        for key in Base.metadata.tables[table].foreign_keys:
            column = key.parent.name
            broken = {**_row_naming_every_parent(table, parents), column: MISSING_ID}
            with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
                bulk_insert(session, model, [broken])
            with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
                session.execute(update(model).values({column: MISSING_ID}))
    for parent, parent_id in parents.items():
        parent_table = Base.metadata.tables[parent]
        with pytest.raises(IntegrityError), Session(store.engine) as session, session.begin():
            session.execute(delete(parent_table).where(parent_table.c.id == parent_id))
    with Session(store.engine) as session, session.begin():  # one named by nothing can go
        session.add(File(id=9108, sha256="e" * 64))
        session.flush()
        session.execute(delete(File).where(File.id == 9108))
    with store.reading() as session:  # nothing refused was kept
        for model in models.values():
            assert session.scalar(select(func.count()).select_from(model)) == 1
            assert session.scalar(select(func.count()).where(model.source_id == MISSING_ID)) == 0
        assert session.scalars(select(File.id)).all() == [parents["file"]]


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
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_BYTES


def test_none_binds_as_null_through_the_sqlite_driver(sqlite_store: Store) -> None:
    """The store's adapter for None (``store.db``) binds exactly the NULL the driver did,
    in bulk inserts and lookups alike."""
    with sqlite_store.engine.connect() as connection:
        connection.exec_driver_sql("CREATE TEMP TABLE t (a, b)")
        connection.exec_driver_sql("INSERT INTO t VALUES (?, ?)", [(None, 1), (2, None)])
        kinds = connection.exec_driver_sql("SELECT typeof(a), typeof(b) FROM t").all()
        assert kinds == [("null", "integer"), ("integer", "null")]
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM t WHERE a = ?", (None,)).scalar() == 0
        )
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM t WHERE a IS ?", (None,)).scalar() == 1
        )


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


@pytest.mark.postgres
def test_a_pending_reference_holds_its_row_as_a_foreign_key_does(pg_store: Store) -> None:
    """Two writers at once on PostgreSQL (SQLite has one writer at a time): a delete of a row
    that an uncommitted sighting names waits for it (here: gives up after a short lock
    timeout) instead of leaving the sighting naming nothing once both commit; and the other
    way round for an event."""
    store = pg_store  # with two connections of its own
    parents = _parents_with_distinct_ids(store)
    first, second = store.engine.connect(), store.engine.connect()
    try:
        second.exec_driver_sql("SET lock_timeout = '300ms'")
        first.execute(insert(Sighting).values(_row_naming_every_parent("sighting", parents)))
        with pytest.raises(OperationalError, match="lock timeout"):
            second.execute(delete(Selector).where(Selector.id == parents["selector"]))
        second.rollback()
        first.commit()
        second.exec_driver_sql("SET lock_timeout = '300ms'")
        second.execute(delete(File).where(File.id == parents["file"]))  # not named yet
        first.exec_driver_sql("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            first.execute(insert(Event).values(_row_naming_every_parent("event", parents)))
        first.rollback()
        second.commit()
    finally:
        first.close()
        second.close()
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert session.get(Selector, parents["selector"]) is not None
