"""Three federation nodes on loopback, loaded once per test module that asks for them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.store.models import DeconflictionHit, Peer, Selector
from vigil.synth.generate import generate
from vigil.workflows.federation.story import Node, pin_each_other, start_node, stop


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Federation:
    operation: Path
    truth: dict[str, Any]
    nodes: dict[str, Node]
    logs: _Collect
    snapshots: dict[str, Any] = field(default_factory=dict)

    def hit_values(self, country: str, peer_country: str, direction: str) -> set[tuple[str, str]]:
        """(kind, normalised value) of this node's own selectors in its hits with the peer;
        IPs without their time bucket, as truth lists them."""
        node, peer = self.nodes[country], self.nodes[peer_country]
        with node.store.reading() as session:
            rows = session.execute(
                select(Selector.kind, Selector.platform, Selector.value)
                .join(DeconflictionHit, DeconflictionHit.selector_id == Selector.id)
                .join(Peer, Peer.id == DeconflictionHit.peer_id)
                .where(Peer.code == peer.code, DeconflictionHit.direction == direction)
            ).all()
        return {
            (kind, f"{platform.casefold()}:{value}" if kind in ("username", "account") else value)
            for kind, platform, value in rows
        }

    def shared(self, a: str, b: str) -> set[tuple[str, str]]:
        return {
            (s["kind"], s["value"])
            for s in self.truth["shared_selectors"]
            if a in s["agencies"] and b in s["agencies"]
        }


@contextmanager
def running_federation(root: Path) -> Iterator[Federation]:
    """Synth split between CA, GB and US; one node each, serving on loopback, all pinned."""
    operation = root / "operation"
    generate(operation, seed=3, scale="small", agencies=["CA", "GB", "US"])
    truth = json.loads((operation / "truth.json").read_text())
    logs = _Collect()
    logging.getLogger().addHandler(logs)
    previous_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    nodes: dict[str, Node] = {}
    try:
        for country in ("CA", "GB", "US"):
            nodes[country] = start_node(root / "nodes", operation, truth, country)
        pin_each_other(list(nodes.values()))
        yield Federation(operation, truth, nodes, logs)
    finally:
        stop(list(nodes.values()))
        logging.getLogger().removeHandler(logs)
        logging.getLogger().setLevel(previous_level)
