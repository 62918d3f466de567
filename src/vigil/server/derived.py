"""Views derived from the whole evidence (the ranking, the network's graphs), kept in the server
and rebuilt when the evidence moves.

Building one costs seconds at seed scale (betweenness and communities are global), so it is
kept against the evidence head (``evidence_head``: the newest audit entry that could change
it). When new evidence arrives, an API reader waits for the rebuild (what it answers follows
the write it just made), while a page gets the last view at once, marked as being updated,
and the rebuild runs in a background thread, one at a time. Only the very first build, before
any view exists, makes a page wait. The review queue (``api/review.py``) never makes its API
reader wait either: it answers from the last queue less the pairs decided since.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from vigil.store.db import Store
from vigil.workflows.operation.audit import evidence_head

T = TypeVar("T")
log = logging.getLogger(__name__)

DERIVED_VIEW_THREAD = "vigil-derived-view"  # the name of a background rebuild's thread


class Kept(Generic[T]):
    def __init__(self, build: Callable[[Store], T]) -> None:
        self._build = build
        self._lock = threading.Lock()  # guards the fields below
        self._building = threading.Lock()  # one build at a time
        self._head: int | None = None
        self._value: T | None = None
        self._refresh: threading.Thread | None = None

    def get(self, store: Store, *, wait: bool = True) -> tuple[T, bool]:
        """The view and whether a newer one is being built (only when ``wait`` is false)."""
        head = evidence_head(store)
        with self._lock:
            value = self._value
            if value is not None and self._head == head:
                return value, False
            if value is not None and not wait:
                if self._refresh is None or not self._refresh.is_alive():
                    self._refresh = threading.Thread(
                        target=self._refresh_quietly,
                        args=(store, head),
                        name=DERIVED_VIEW_THREAD,
                        daemon=True,
                    )
                    self._refresh.start()
                return value, True
        return self._build_at(store, head), False

    def settle(self) -> None:
        """Wait for a background rebuild to end (tests; a server shutting down)."""
        with self._lock:
            refresh = self._refresh
        if refresh is not None:
            refresh.join()

    def _build_at(self, store: Store, head: int) -> T:
        with self._building:
            with self._lock:
                if self._value is not None and self._head is not None and self._head >= head:
                    return self._value  # built meanwhile, by another reader or the background
            value = self._build(store)
            with self._lock:
                if self._head is None or head >= self._head:
                    self._value, self._head = value, head
            return value

    def _refresh_quietly(self, store: Store, head: int) -> None:
        try:
            self._build_at(store, head)
        except Exception:  # the next reader tries again; the page keeps the last view
            log.exception("rebuilding a derived view failed")
