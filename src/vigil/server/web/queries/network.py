"""The subject network drawn on the network page: the highest-priority subjects in reach and
the ties between them (file transfers, messages, shared rooms), weighted as the ranking
weighs them. The ties are kept until the audit chain moves, as the ranking is."""

from __future__ import annotations

import threading
from typing import Any

from vigil.graph.build import build_subject_graph
from vigil.graph.model import NetworkResult
from vigil.store.db import Store
from vigil.workflows.network.input import load_network_input
from vigil.workflows.operation.audit import audit_head

GRAPH_SUBJECTS = 60
TIES_PER_SUBJECT = 3
"""Only each subject's strongest ties are drawn: the network is dense, and every tie at once
is a hairball nobody can read. The ranking beside the graph still counts them all."""
Tie = tuple[int, int, float]


class SubjectTies:
    """Subject-to-subject ties, recomputed only when the audit head has moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head: int | None = None
        self._ties: list[Tie] = []

    def ties(self, store: Store) -> list[Tie]:
        with self._lock:
            head = audit_head(store)
            if head != self._head:
                self._ties = _compute(store)
                self._head = head
            return self._ties


def _compute(store: Store) -> list[Tie]:
    with store.reading() as session:
        graph = build_subject_graph(load_network_input(session))
    ties = []
    for edge in graph.undirected.es:
        source, target = graph.keys[edge.source], graph.keys[edge.target]
        if source.startswith("subject:") and target.startswith("subject:"):
            ties.append((int(source[8:]), int(target[8:]), round(edge["weight"], 3)))
    return ties


def subject_graph(ties: list[Tie], result: NetworkResult, visible: set[int]) -> dict[str, Any]:
    ranked = [item for item in result.ranking if item.subject_id in visible][:GRAPH_SUBJECTS]
    kept = {item.subject_id for item in ranked}
    strongest: dict[int, list[Tie]] = {subject: [] for subject in kept}
    for tie in ties:
        a, b, _weight = tie
        if a in kept and b in kept:
            strongest[a].append(tie)
            strongest[b].append(tie)
    drawn = {
        tie
        for own in strongest.values()
        for tie in sorted(own, key=lambda t: -t[2])[:TIES_PER_SUBJECT]
    }
    return {
        "nodes": [
            {
                "id": item.subject_id,
                "label": item.label,
                "score": item.score,
                "community": item.community,
            }
            for item in ranked
        ],
        "edges": [{"source": a, "target": b, "weight": weight} for a, b, weight in sorted(drawn)],
    }
