"""Static pictures for the report, rendered offline with matplotlib and embedded as data URIs.

Nothing here draws media: only bars and a node-link diagram of the network's core.
"""

from __future__ import annotations

import base64
import io
import random

import igraph as ig
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from vigil.report.model import CoreEdge, CoreNode, CountryRow

PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
LAYOUT_SEED = 7


def _data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def countries_chart(rows: list[CountryRow]) -> str | None:
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: (-r.suspects, r.country))
    height = max(2.0, 0.22 * len(ordered) + 0.8)
    figure, axes = plt.subplots(figsize=(7.5, height))
    axes.barh(
        [r.country for r in ordered][::-1], [r.suspects for r in ordered][::-1], color="#3b6ea5"
    )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("suspects")
    axes.set_title("Suspects by country")
    axes.tick_params(axis="y", labelsize=8)
    axes.grid(axis="x", alpha=0.3)
    return _data_uri(figure)


def network_core_picture(
    nodes: list[CoreNode], edges: list[CoreEdge], labelled: int = 10
) -> str | None:
    """The highest-priority subjects and the ties among them; size = score, colour = community."""
    if not nodes:
        return None
    index = {node.key: i for i, node in enumerate(nodes)}
    pairs = [(index[e.a], index[e.b]) for e in edges if e.a in index and e.b in index]
    graph = ig.Graph(n=len(nodes), edges=pairs)
    previous = ig.set_random_number_generator(random.Random(LAYOUT_SEED))
    try:
        layout = graph.layout_fruchterman_reingold(niter=500)
    finally:
        ig.set_random_number_generator(previous or random)
    xs = [p[0] for p in layout.coords]
    ys = [p[1] for p in layout.coords]
    figure, axes = plt.subplots(figsize=(8, 6.5))
    for a, b in pairs:
        axes.plot(
            [xs[a], xs[b]], [ys[a], ys[b]], color="#999999", linewidth=0.6, alpha=0.6, zorder=1
        )
    top = max((n.score for n in nodes), default=1.0) or 1.0
    axes.scatter(
        xs,
        ys,
        s=[40 + 360 * n.score / top for n in nodes],
        c=[PALETTE[n.community % len(PALETTE)] for n in nodes],
        edgecolors="black",
        linewidths=0.5,
        zorder=2,
    )
    ranked = sorted(range(len(nodes)), key=lambda i: -nodes[i].score)[:labelled]
    for i in ranked:
        axes.annotate(
            nodes[i].label,
            (xs[i], ys[i]),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
            zorder=3,
        )
    axes.set_axis_off()
    axes.set_title(f"Network core: top {len(nodes)} subjects by priority")
    return _data_uri(figure)
