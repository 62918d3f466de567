"""Writing the evidence graph in the formats other tools read: GraphML, GEXF, i2 CSVs.

GraphML comes from igraph itself. igraph does not write GEXF, so Gephi's format goes through
networkx. i2 Analyst's Notebook imports entities and links from two CSV files through an
import specification; the columns here are the ones such a specification maps (identity,
type, label, attributes; from, to, link type, strength, dates).
"""

from __future__ import annotations

import csv
from pathlib import Path

import igraph as ig
import networkx as nx

from vigil.errors import UsageError
from vigil.graph.evidence import describe_edge
from vigil.graph.formats import EXPORT_FORMATS
from vigil.outputs import atomic_path

I2_ENTITY_TYPES = {
    "subject": "Person",
    "account": "Account",
    "room": "Location",
    "file": "Document",
}


def export_graph(graph: ig.Graph, fmt: str, path: Path) -> list[Path]:
    """Write ``graph``; returns the files written (two for i2, in the directory ``path``).

    Each file is written whole or not at all (``vigil.outputs.atomic_path``).
    """
    if fmt == "graphml":
        with atomic_path(path) as temporary:
            graph.write_graphml(str(temporary))
        return [path]
    if fmt == "gexf":
        with atomic_path(path) as temporary:
            nx.write_gexf(to_networkx(graph), temporary)
        return [path]
    if fmt == "i2":
        return write_i2(graph, path)
    raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def to_networkx(graph: ig.Graph) -> nx.MultiDiGraph:
    out = nx.MultiDiGraph()
    for v in graph.vs:
        attributes = {name: v[name] for name in graph.vs.attributes() if name != "key"}
        out.add_node(v["key"], **attributes)
    for e in graph.es:
        attributes = {name: e[name] for name in graph.es.attributes()}
        out.add_edge(graph.vs[e.source]["key"], graph.vs[e.target]["key"], **attributes)
    return out


def write_i2(graph: ig.Graph, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    entities = directory / "entities.csv"
    links = directory / "links.csv"
    with (
        atomic_path(entities) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(["Entity ID", "Entity Type", "Label", "Priority", "Community", "Country"])
        for v in graph.vs:
            writer.writerow(
                [
                    v["key"],
                    I2_ENTITY_TYPES[v["kind"]],
                    v["label"],
                    v["score"] if v["kind"] == "subject" else "",
                    v["community"] if v["kind"] == "subject" else "",
                    v["country"],
                ]
            )
    with (
        atomic_path(links) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(
            ["From ID", "To ID", "Link Type", "Strength", "First Date", "Last Date", "Description"]
        )
        for e in graph.es:
            writer.writerow(
                [
                    graph.vs[e.source]["key"],
                    graph.vs[e.target]["key"],
                    e["kind"],
                    e["weight"],
                    e["first"],
                    e["last"],
                    describe_edge(graph, e.index),
                ]
            )
    return [entities, links]
