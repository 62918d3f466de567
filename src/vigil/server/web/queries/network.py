"""The network page's views of the evidence: the ties between subjects (drawn as the graph)
and the evidence graph (walked for the shortest evidence path). Both are built once per
change of the evidence and shared by every reader, so the page answers quickly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.graph.build import build_subject_graph
from vigil.graph.evidence import EvidenceGraph, build_evidence_graph, evidence_path
from vigil.graph.model import NetworkResult, PathStep
from vigil.server.derived import Kept
from vigil.store.db import Store
from vigil.workflows.network.input import load_network_input

GRAPH_SUBJECTS = 60
TIES_PER_SUBJECT = 3
"""Only each subject's strongest ties are drawn: the network is dense, and every tie at once
is a hairball nobody can read. The ranking beside the graph still counts them all."""
Tie = tuple[int, int, float]


@dataclass(frozen=True)
class NetworkViews:
    ties: list[Tie]
    evidence: EvidenceGraph

    def path(self, subject_a: int, subject_b: int) -> list[PathStep]:
        return evidence_path(self.evidence, subject_a, subject_b)


class NetworkCache:
    """The views, rebuilt only when the evidence head has moved (``vigil.server.derived``)."""

    def __init__(self) -> None:
        self._kept = Kept(_build)

    def views(self, store: Store) -> NetworkViews:
        """The views of the evidence as it stands."""
        return self._kept.get(store)[0]

    def views_now(self, store: Store) -> tuple[NetworkViews, bool]:
        """For a page: the last views at once, and whether newer ones are being built."""
        return self._kept.get(store, wait=False)

    def settle(self) -> None:
        self._kept.settle()


def _build(store: Store) -> NetworkViews:
    with store.reading() as session:
        data = load_network_input(session)
    graph = build_subject_graph(data)
    ties = []
    for edge in graph.undirected.es:
        source, target = graph.keys[edge.source], graph.keys[edge.target]
        if source.startswith("subject:") and target.startswith("subject:"):
            ties.append((int(source[8:]), int(target[8:]), round(edge["weight"], 3)))
    return NetworkViews(ties, build_evidence_graph(data))


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
