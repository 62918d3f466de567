"""Parsing in a worker process while this one writes (``workflows.sources.parsing``).

The promise is that the worker changes nothing but the time: the same rows in the same
order, the same refusals, the same idempotence as a one-process ingest.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.actors import admin_actor
from tests.stores import initialised_store
from tests.test_ingest_support import SOURCES, many_accounts_report, row_counts
from vigil.errors import BadInput
from vigil.formats.source_records import ParsedSource, ParseOptions, SourceDocument
from vigil.processes import start_method
from vigil.store.db import Store
from vigil.store.models import Event, Selector, Sighting
from vigil.workflows.sources import ingest as ingest_module
from vigil.workflows.sources import parsing
from vigil.workflows.sources.ingest import ingest, ingest_json, parser_for


def _folder(tmp_path: Path) -> Path:
    """Six documents: a fixture wrapper, four generated ones that share some accounts, and a
    copy of the second under another name (the same bytes twice in one run)."""
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(SOURCES / "cybertip" / "wrapper.xml", folder / "a-wrapper.xml")
    for number in range(4):
        (folder / f"b-{number}.xml").write_text(many_accounts_report(60, first=number * 40))
    shutil.copy(folder / "b-1.xml", folder / "c-copy-of-b-1.xml")
    return folder


def _written(store: Store) -> list[Any]:
    """What the ingest wrote, ids included: the worker must not even reorder rows."""
    with store.reading() as session:
        return [
            session.execute(select(Selector.id, Selector.kind, Selector.value)).all(),
            session.execute(
                select(Sighting.id, Sighting.selector_id, Sighting.account_id, Sighting.extra)
            ).all(),
            session.execute(select(Event.id, Event.kind, Event.actor_id, Event.ip_id)).all(),
        ]


def _summary(store: Store, folder: Path) -> dict[str, Any]:
    found = ingest_json(ingest(store, admin_actor(store), "cybertip", str(folder), "CASE-1"))
    for document in found["documents"]:
        del document["source_id"]
    return found


def test_worker_parses_exactly_what_this_process_parses(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    documents = list(parser_for("cybertip").documents(str(folder)))
    here = [parsing.read_document("cybertip", d, ParseOptions()) for d in documents]
    with parsing.DocumentParsing("cybertip", ParseOptions(), lambda digest: None, 1) as run:
        planned = list(run.in_order(documents))
        assert run.pool is not None  # parsed in another process
    assert [p.document for p in planned] == documents
    assert [(p.parsed, p.rows) for p in planned] == here
    assert all(rows.sightings and rows.events for _, rows in here)  # compared something
    assert planned[-1].repeated and not any(p.repeated for p in planned[:-1])


def test_a_job_thread_parses_in_workers_from_the_fork_server(tmp_path: Path) -> None:
    """The server runs an ingest as a job on its own thread, beside request threads: its
    workers must not be forked from that process (``vigil.processes``), and what they parse
    is the same."""
    folder = _folder(tmp_path)
    documents = list(parser_for("cybertip").documents(str(folder)))
    here = [parsing.read_document("cybertip", d, ParseOptions()) for d in documents]
    seen: dict[str, Any] = {}

    def job() -> None:
        with parsing.DocumentParsing("cybertip", ParseOptions(), lambda digest: None, 1) as run:
            seen["planned"] = list(run.in_order(documents))
            assert run.pool is not None
            seen["method"] = run.pool._mp_context.get_start_method()  # type: ignore[attr-defined]

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert start_method() == "fork"  # this, the main thread, still forks
    assert seen["method"] == "forkserver"
    assert [(p.parsed, p.rows) for p in seen["planned"]] == here


def test_ingest_with_a_worker_writes_the_same_rows(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    # several batches on either store, written while the worker parses the next
    monkeypatch.setattr(ingest_module, "BATCH_RECORDS", {"sqlite": 100, "postgresql": 100})
    alone = initialised_store(f"sqlite:///{tmp_path / 'one-process.db'}")
    expected = _summary(alone, folder)
    monkeypatch.setattr(parsing, "PIPELINE_MIN_BYTES", 0)
    documents = list(parser_for("cybertip").documents(str(folder)))
    assert parsing.worker_count(documents) >= 1
    assert _summary(store, folder) == expected
    assert expected["new_sources"] == 5 and expected["already_ingested"] == 1
    if store.dialect == "sqlite":
        assert _written(store) == _written(alone)
    assert row_counts(store) == row_counts(alone)
    again = _summary(store, folder)  # idempotent: nothing parsed, nothing written
    assert again["new_sources"] == 0 and again["already_ingested"] == 6
    assert row_counts(store) == row_counts(alone)
    alone.dispose()


def test_a_bad_document_stops_a_worker_ingest_where_a_one_process_ingest_stops(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    (folder / "b-2.xml").write_text("<report><incidentSummary>")  # malformed, mid-run
    monkeypatch.setitem(ingest_module.BATCH_RECORDS, "sqlite", 1)  # every document its own batch
    alone = initialised_store(f"sqlite:///{tmp_path / 'one-process.db'}")
    with pytest.raises(BadInput, match=r"b-2\.xml"):
        ingest(alone, admin_actor(alone), "cybertip", str(folder), "CASE-1")
    monkeypatch.setattr(parsing, "PIPELINE_MIN_BYTES", 0)
    with pytest.raises(BadInput, match=r"b-2\.xml"):
        ingest(sqlite_store, admin_actor(sqlite_store), "cybertip", str(folder), "CASE-1")
    assert row_counts(sqlite_store) == row_counts(alone)
    assert row_counts(alone)["source"] == 3  # the documents before it, whole
    alone.dispose()


def test_small_inputs_are_parsed_in_this_process(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    documents = list(parser_for("cybertip").documents(str(folder)))
    assert parsing.worker_count(documents) == 0  # a few kilobytes: not worth a process
    assert parsing.worker_count(documents[:1]) == 0


def parse_forever(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ParsedSource:
    """A parse longer than the test allows (what a worker runs in the interrupt test)."""
    time.sleep(20)
    raise AssertionError("not reached")


BUSY_WORKERS: list[multiprocessing.Process] = []


def _interrupt(signum: int, frame: object) -> None:
    BUSY_WORKERS.extend(multiprocessing.active_children())  # the workers mid-parse
    raise KeyboardInterrupt


def _one_worker_parsing_with(
    parse: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[parsing.DocumentParsing, list[SourceDocument]]:
    """A one-worker run over ``_folder`` whose worker parses with ``parse`` (a module-level
    function: the worker is forked with it in place of ``parse_document``)."""
    monkeypatch.setattr(parsing, "parse_document", parse)
    documents = list(parser_for("cybertip").documents(str(_folder(tmp_path))))
    return parsing.DocumentParsing("cybertip", ParseOptions(), lambda digest: None, 1), documents


def test_an_interrupt_stops_the_workers_mid_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a worker is busy: the run ends now, not after the look-ahead is parsed."""
    run, documents = _one_worker_parsing_with(parse_forever, tmp_path, monkeypatch)
    previous = signal.signal(signal.SIGALRM, _interrupt)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt), run:
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            for _ in run.in_order(documents):
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert BUSY_WORKERS  # the interrupt came while a worker was parsing
    for worker in BUSY_WORKERS:
        # its sentinel, not join/is_alive: the pool's own thread reaps the process too, and
        # is_alive reads as True to the thread that loses that race
        assert wait([worker.sentinel], timeout=10), f"{worker} still running"
    assert time.monotonic() - started < 10


class UnpicklableBug(Exception):
    """What a parser bug may raise: an exception that cannot cross a process boundary."""

    def __init__(self) -> None:
        super().__init__("the parser tripped")
        self.callback = lambda: None


def parse_with_a_bug(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ParsedSource:
    raise UnpicklableBug


def test_a_parser_bug_in_a_worker_arrives_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, documents = _one_worker_parsing_with(parse_with_a_bug, tmp_path, monkeypatch)
    with pytest.raises(RuntimeError, match="UnpicklableBug: the parser tripped"), run:
        list(run.in_order(documents))


def parse_and_die(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ParsedSource:
    """What a native crash in a parser looks like from outside: the process is gone."""
    os._exit(70)


def test_a_dead_parser_process_is_bad_input_naming_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, documents = _one_worker_parsing_with(parse_and_die, tmp_path, monkeypatch)
    with pytest.raises(BadInput, match=rf"{documents[0].name}: the parser's process died"), run:
        list(run.in_order(documents))
