"""The network: the ranking (`vigil network rank --json`) and the graph, within reach.

Ranking is computed from the evidence each time the evidence changes and not on every read:
the result is kept against the audit chain's head, which moves with every write.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vigil.graph.model import NetworkResult
from vigil.server.auth import allow, store_of
from vigil.server.params import json_response
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.store.db import Actor, Store
from vigil.workflows.network.graph_json import network_graph
from vigil.workflows.network.rank import rank_network, rank_row
from vigil.workflows.operation.audit import evidence_head

router = APIRouter(prefix="/api/network", tags=["network"])


class RankCache:
    """The last ranking and the evidence head it was computed at; recomputed when that moves
    (a sign-in or a reveal does not move it: they change nothing the ranking reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head: int | None = None
        self._result: NetworkResult | None = None
        self._rows: list[dict[str, Any]] = []

    def _current(self, store: Store, actor: Actor) -> tuple[NetworkResult, list[dict[str, Any]]]:
        with self._lock:
            head = evidence_head(store)
            if self._result is None or head != self._head:
                self._result = rank_network(store, actor, write=False)
                self._rows = [rank_row(item) for item in self._result.ranking]
                self._head = head
            return self._result, self._rows

    def ranking(self, store: Store, actor: Actor) -> NetworkResult:
        """The ranking of every subject, as the network pages read it."""
        return self._current(store, actor)[0]

    def rows(self, store: Store, actor: Actor) -> list[dict[str, Any]]:
        """The same as `vigil network rank --json` rows, every subject."""
        return self._current(store, actor)[1]


@router.get("/rank")
def rank(
    request: Request,
    top: int | None = Query(default=None, ge=1),
    actor: Actor = Depends(allow(Permission.READ)),
) -> list[dict[str, Any]]:
    store = store_of(request)
    ranking = request.app.state.rank_cache.rows(store, actor)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    rows = [row for row in ranking if row["subject_id"] in visible]
    return json_response(rows[:top] if top else rows)


@router.get("/graph")
def graph(request: Request, actor: Actor = Depends(allow(Permission.READ))) -> dict[str, Any]:
    """Nodes (subjects, accounts, rooms, files) and edges, limited to subjects in reach."""
    store = store_of(request)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    return network_graph(store, visible)
