"""Two writers of one document (docs/reliability.md): the second waits for the first and
finds its source; never an integrity error. On PostgreSQL, where READ COMMITTED would let both
insert; SQLite's ``BEGIN IMMEDIATE`` queues writers by construction."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from tests.actors import admin_actor
from vigil.errors import Busy
from vigil.store.audit import _PG_AUDIT_LOCK as AUDIT_LOCK
from vigil.store.bulk import bulk_insert
from vigil.store.db import Store
from vigil.store.models import Case, Selector, Source, utcnow
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest
from vigil.workflows.sources.provenance import digest_file, register_source

WAIT_SECONDS = 120


@pytest.mark.postgres
def test_a_second_ingest_of_the_same_document_waits_and_finds_it(pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(pg_url)
    init_store(store, "TEST", "Test Unit", "CA")
    actor = admin_actor(store)
    open_case(store, actor, "CASE-1")
    document = tmp_path / "chat.jsonl"
    document.write_text('{"platform": "p", "sender": "kit", "ts": "2006-03-14T21:00:00Z"}\n')
    (
        first_registered,
        second_writing,
    ) = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_writer() -> None:
        with store.transaction() as session:
            case_id = session.scalar(select(Case.id))
            register_source(
                session, actor, kind="chat-jsonl", original_name="chat.jsonl",
                digest=digest_file(document), case_id=case_id,
            )  # fmt: skip
            first_registered.set()
            second_writing.wait(WAIT_SECONDS)  # commit only once the second is writing

    def second_writer() -> None:
        try:
            outcome["second"] = ingest(store, actor, "chat-jsonl", str(document), "CASE-1")
        except Exception as exc:  # what the test is about: must not happen
            outcome["second"] = exc

    second = threading.Thread(target=second_writer)

    @event.listens_for(store.engine, "before_cursor_execute")
    def watch(_conn, _cursor, statement, params, _context, _many) -> None:
        # The second writer is about to serialise its registration, or (without that) to
        # insert the same source the first has not committed yet.
        registering = "pg_advisory_xact_lock" in statement and params["key"] != AUDIT_LOCK
        if threading.current_thread() is second and (
            registering or statement.startswith("INSERT INTO source")
        ):
            second_writing.set()

    first = threading.Thread(target=first_writer)
    first.start()
    assert first_registered.wait(WAIT_SECONDS)
    second.start()
    first.join()
    second.join()

    summary = outcome["second"]
    assert not isinstance(summary, Exception), summary
    assert (summary.new_sources, summary.already_ingested) == (0, 1)
    with store.reading() as session:
        assert len(session.scalars(select(Source.id)).all()) == 1
    store.dispose()


@pytest.mark.postgres
def test_a_bulk_copy_that_collides_with_another_writer_is_busy_not_a_crash(pg_url, monkeypatch):
    """Rows go to PostgreSQL by COPY on the driver's own cursor: a unique violation there (the
    rows another writer committed first) must still be "run the command again", exit 2."""
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(pg_url)
    init_store(store, "TEST", "Test Unit", "CA")
    row = {
        "kind": "email",
        "platform": "",
        "value": "kit@mailbox.example",
        "display": "kit@mailbox.example",
        "created_at": utcnow(),
    }
    with store.transaction() as session:
        bulk_insert(session, Selector, [row])

    with pytest.raises(Busy, match="run the command again"), store.transaction() as session:
        bulk_insert(session, Selector, [row])
    with store.reading() as session:
        assert len(session.scalars(select(Selector.id)).all()) == 1
    store.dispose()
