"""A view derived from the whole evidence (the ranking) is rebuilt when the evidence moves: an
API reader waits for it, a page gets the last one at once with "being updated" while one
background rebuild runs (src/vigil/server/derived.py)."""

from __future__ import annotations

import threading

from tests.actors import admin_actor
from vigil.server.derived import Kept
from vigil.store import audit
from vigil.store.db import Store

WAIT = 60.0  # a bound on the test, not synchronisation: each wait is on an event


def _new_evidence(store: Store, tag: str) -> None:
    with store.transaction() as session:
        audit.append(session, admin_actor(store), "ingest.source", "source", tag, {})


def test_a_page_gets_the_last_view_at_once_while_one_rebuild_runs(sqlite_store: Store) -> None:
    started, gate = threading.Event(), threading.Event()
    builds: list[int] = []

    def build(store: Store) -> int:
        builds.append(len(builds) + 1)
        if len(builds) == 2:  # the rebuild after new evidence: held until the test lets it go
            started.set()
            assert gate.wait(WAIT)
        return len(builds)

    kept = Kept(build)
    assert kept.get(sqlite_store, wait=False) == (1, False)  # nothing yet: the first one waits
    assert kept.get(sqlite_store, wait=False) == (1, False)  # the evidence has not moved
    assert builds == [1]

    _new_evidence(sqlite_store, "a")
    assert kept.get(sqlite_store, wait=False) == (1, True)  # at once, while the rebuild runs
    assert started.wait(WAIT)
    assert kept.get(sqlite_store, wait=False) == (1, True)  # no second rebuild meanwhile
    assert builds == [1, 2] and not gate.is_set()
    gate.set()
    kept.settle()
    assert kept.get(sqlite_store, wait=False) == (2, False)
    assert builds == [1, 2]


def test_an_api_reader_waits_for_the_view_of_the_evidence_as_it_stands(
    sqlite_store: Store,
) -> None:
    builds: list[int] = []

    def build(store: Store) -> int:
        builds.append(len(builds) + 1)
        return len(builds)

    kept = Kept(build)
    assert kept.get(sqlite_store) == (1, False)
    _new_evidence(sqlite_store, "b")
    assert kept.get(sqlite_store) == (2, False)
    with sqlite_store.transaction() as session:  # a reveal or a sign-in is not evidence
        audit.append(session, admin_actor(sqlite_store), "auth.login", "session", 1, {})
    assert kept.get(sqlite_store) == (2, False) and len(builds) == 2
