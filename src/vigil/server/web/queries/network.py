"""The subject network drawn on the network page: the highest-priority subjects in reach and
the ties between them (file transfers, messages, shared rooms), weighted as the ranking
weighs them."""

from __future__ import annotations

from typing import Any

from vigil.graph.build import build_subject_graph
from vigil.graph.model import NetworkResult
from vigil.store.db import Store
from vigil.workflows.network.input import load_network_input

GRAPH_SUBJECTS = 150


def subject_graph(store: Store, result: NetworkResult, visible: set[int]) -> dict[str, Any]:
    ranked = [item for item in result.ranking if item.subject_id in visible][:GRAPH_SUBJECTS]
    kept = {f"subject:{item.subject_id}" for item in ranked}
    with store.reading() as session:
        graph = build_subject_graph(load_network_input(session))
    keys = graph.keys
    edges = []
    for edge in graph.undirected.es:
        source, target = keys[edge.source], keys[edge.target]
        if source in kept and target in kept:
            edges.append(
                {
                    "source": source.partition(":")[2],
                    "target": target.partition(":")[2],
                    "weight": round(edge["weight"], 3),
                }
            )
    nodes = [
        {
            "id": item.subject_id,
            "label": item.label,
            "score": item.score,
            "community": item.community,
        }
        for item in ranked
    ]
    return {"nodes": nodes, "edges": edges}
