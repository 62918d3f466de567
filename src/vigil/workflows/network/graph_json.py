"""The evidence graph as JSON nodes and edges, for the web pages' network view.

``visible`` limits it to what a reader may see: their subjects, those subjects' accounts, and
the rooms, files and other accounts those accounts touch directly. Nothing two steps away from
a visible subject is included.
"""

from __future__ import annotations

from typing import Any

from vigil.graph.evidence import build_evidence_graph
from vigil.store.db import Store
from vigil.workflows.network.input import load_network_input


def network_graph(store: Store, visible: set[int] | None = None) -> dict[str, Any]:
    store.require_initialised()
    with store.reading() as session:
        data = load_network_input(session)
    graph = build_evidence_graph(data).graph
    keys: list[str] = graph.vs["key"] if graph.vcount() else []
    if visible is None:
        kept = set(range(graph.vcount()))
    else:
        core = {i for i, key in enumerate(keys) if _subject(key) in visible}
        for edge in graph.es:
            if edge["kind"] == "uses" and edge.source in core:
                core.add(edge.target)
        kept = set(core)
        for edge in graph.es:
            if edge.source in core or edge.target in core:
                kept.update((edge.source, edge.target))
    nodes = [
        {
            "id": keys[i],
            "kind": graph.vs[i]["kind"],
            "label": graph.vs[i]["label"],
            "score": graph.vs[i]["score"],
            "community": graph.vs[i]["community"],
        }
        for i in sorted(kept)
    ]
    edges = [
        {
            "source": keys[edge.source],
            "target": keys[edge.target],
            "kind": edge["kind"],
            "weight": edge["weight"],
            "first": edge["first"] or None,
            "last": edge["last"] or None,
        }
        for edge in graph.es
        if edge.source in kept and edge.target in kept
    ]
    return {"nodes": nodes, "edges": edges}


def _subject(key: str) -> int | None:
    kind, _, number = key.partition(":")
    return int(number) if kind == "subject" and number.isdigit() else None
