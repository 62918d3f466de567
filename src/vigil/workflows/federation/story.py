"""The multi-agency story on loopback: three nodes, each with its own database and its part
of one synthetic operation, that deconflict, refer and report outcomes to each other.

``vigil demo --federation`` runs it and prints what each agency learned; the federation tests
build their nodes with the same functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.federation.transport import HttpTransport
from vigil.peer_api.app import create_peer_app
from vigil.peer_api.serving import NodeServer
from vigil.store.db import Actor, Store
from vigil.workflows.federation.deconflict import HitInfo, deconflict, list_hits
from vigil.workflows.federation.exchange import deliver_pending, send_referrals
from vigil.workflows.federation.inbox import accept, list_inbox, own_overlaps
from vigil.workflows.federation.node import add_peer, identity, init_node
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.network.countries import assign_countries
from vigil.workflows.network.rank import rank_network
from vigil.workflows.operation.setup import find_actor, init_store, open_case, resolve_actor
from vigil.workflows.sources.ingest import ingest_listed

STORY_AGENCIES = {
    "CA": ("CA-TPS", "Toronto Police Service, Child Exploitation Section", "ces@tps.example"),
    "GB": ("GB-CEOP", "CEOP Command, National Crime Agency", "ceop-desk@nca.example"),
    "US": ("US-HSI", "Homeland Security Investigations, Cyber Crimes Center", "c3@hsi.example"),
}
CASE = "OP-FED"


@dataclass
class Node:
    country: str
    code: str
    store: Store
    server: NodeServer
    keys_dir: Path
    received: list[bytes] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        with self.store.reading() as session:
            return resolve_actor(session, f"{self.code}/admin")


class _Recording:
    """ASGI middleware keeping every request body the node receives (for the demo's and the
    tests' "nothing raw crosses" check)."""

    def __init__(self, app: Any, received: list[bytes]):
        self.app, self.received = app, received

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recorded() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.received.append(b"".join(chunks))
            return message

        await self.app(scope, recorded, send)


def agency_sources(operation: Path, truth: dict[str, Any], country: str) -> list[dict[str, Any]]:
    """The entries of ``truth["sources"]`` that this agency's folder holds."""
    folder = operation / truth["agencies"][country]["folder"]
    return [s for s in truth["sources"] if (folder / s["path"]).exists()]


def start_node(
    root: Path, operation: Path, truth: dict[str, Any], country: str, *, serve: bool = True
) -> Node:
    """A node with its own database, its agency's evidence loaded and resolved, keys made."""
    code, name, contact = STORY_AGENCIES[country]
    home = root / code
    home.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{home / 'vigil.db'}")
    init_store(store, code, name, country)
    admin = find_actor(store, f"{code}/admin")
    open_case(store, admin, CASE, f"{name}: its part of the operation")
    folder = operation / truth["agencies"][country]["folder"]
    ingest_listed(store, admin, folder, agency_sources(operation, truth, country), CASE)
    resolve(store, admin)
    assign_countries(store, admin)
    rank_network(store, admin)
    node = Node(country, code, store, NodeServer.reserve(None), home / "keys")
    node.server.app = _Recording(create_peer_app(store), node.received)
    init_node(store, node.actor, node.keys_dir, url=node.server.url, contact=contact)
    if serve:
        node.server.start()
    return node


def pin_each_other(nodes: list[Node]) -> None:
    for node in nodes:
        for other in nodes:
            if other is not node:
                found = identity(other.store, other.actor)
                add_peer(
                    node.store,
                    node.actor,
                    found.agency,
                    found.url or other.server.url,
                    found.public_key,
                    country=other.country,
                )


@dataclass
class StoryResult:
    nodes: list[Node]
    hits: dict[str, list[HitInfo]]
    lines: list[str]


def run_story(root: Path, operation: Path, say: Callable[[str], None]) -> StoryResult:
    truth = json.loads((operation / "truth.json").read_text())
    nodes = []
    for country in ("CA", "GB", "US"):
        say(f"node {STORY_AGENCIES[country][0]}: load its evidence")
        nodes.append(start_node(root, operation, truth, country))
    ca, gb, _us = nodes
    transport = HttpTransport()
    try:
        pin_each_other(nodes)
        say("CA-TPS deconflicts its selectors against GB-CEOP and US-HSI")
        deconflict(
            ca.store,
            ca.actor,
            transport,
            case=CASE,
            purpose="undercover chat room: who else holds these identities",
        )
        say("CA-TPS refers its GB suspects to GB-CEOP")
        from vigil.workflows.referral.refer import refer

        referrals = refer(ca.store, ca.actor, root / "CA-TPS" / "referrals", country="GB")
        send_referrals(ca.store, ca.actor, transport, [r.id for r in referrals])
        say("GB-CEOP accepts the referral and records an arrest")
        received = list_inbox(gb.store, gb.actor)[-1]
        accept(gb.store, gb.actor, received.id, "OP-FED-REFERRAL")
        from vigil.workflows.referral.outcomes import record_outcome

        subject = _first_referred_subject(gb)
        record_outcome(gb.store, gb.actor, str(subject), "arrest", "2007-06-01")
        deliver_pending(gb.store, gb.actor, transport)
        hits = {n.code: list_hits(n.store, n.actor) for n in nodes}
        return StoryResult(nodes, hits, learned(nodes, hits))
    finally:
        transport.close()


def _first_referred_subject(node: Node) -> int:
    from sqlalchemy import select

    from vigil.store.models import InboxSubject

    with node.store.reading() as session:
        found = session.scalars(select(InboxSubject.subject_id).order_by(InboxSubject.id)).first()
    assert found is not None
    return int(found)


def learned(nodes: list[Node], hits: dict[str, list[HitInfo]]) -> list[str]:
    from vigil.workflows.referral.refer import list_referrals

    lines = []
    for node in nodes:
        venues = _venues_run(node)
        lines.append(f"{node.code} ({node.country}) learned:")
        for direction, verb in (("made", "holds"), ("received", "asked about")):
            by_peer: dict[str, dict[str, int]] = {}
            for hit in hits[node.code]:
                if hit.direction == direction:
                    kinds = by_peer.setdefault(hit.peer, {})
                    kinds[hit.kind] = kinds.get(hit.kind, 0) + 1
            for peer, kinds in sorted(by_peer.items()):
                counted = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                mine = [h for h in hits[node.code] if h.peer == peer and h.direction == direction]
                top = _top_subject(node, venues, {h.subject_id for h in mine if h.subject_id})
                lines.append(
                    f"  {peer} {verb} {counted} of ours"
                    + (f", among them those of our subject {top}" if top else "")
                    + f" (contact {mine[0].contact}, e.g. reference {mine[0].their_reference})"
                )
        for row in list_inbox(node.store, node.actor):
            lines.append(
                f"  received referral {row.reference} from {row.peer}: {row.state}"
                + (f" into case {row.case}" if row.case else "")
            )
            if row.state == "accepted":
                lines += [
                    f"    {o.describe()}" for o in own_overlaps(node.store, node.actor, row.id)
                ]
        for referral in list_referrals(node.store):
            for outcome in referral.outcomes:
                if "agency" in outcome:
                    subject = _label(node, venues, int(str(outcome["subject_id"])))
                    lines.append(
                        f"  {outcome['agency']} reports {outcome['kind']} of our subject "
                        f"{subject} ({outcome['date']}) on referral {referral.id}"
                    )
    return lines


def _venues_run(node: Node) -> dict[int, list[str]]:
    """Per subject, the venues it runs (e.g. "NightNet #lounge operator"), from one ranking of
    the node's evidence: what says why a subject ranks first."""
    from vigil.workflows.network.rank import current_ranking

    with node.store.reading() as session:
        return {r.subject_id: r.platform_roles for r in current_ranking(session).ranking}


def _label(node: Node, venues: dict[int, list[str]], subject_id: int) -> str:
    """``id (label: venues it runs)``."""
    from vigil.store.models import Subject

    with node.store.reading() as session:
        subject = session.get(Subject, subject_id)
        if subject is None:
            return str(subject_id)
        label = subject.label
    roles = venues.get(subject_id, [])
    return f"{subject_id} ({label}{': ' + ', '.join(roles) if roles else ''})"


def _top_subject(node: Node, venues: dict[int, list[str]], subject_ids: set[int]) -> str | None:
    """The highest-priority of these subjects, described by ``_label``."""
    from sqlalchemy import select

    from vigil.store.models import Subject

    if not subject_ids:
        return None
    with node.store.reading() as session:
        top = session.scalars(
            select(Subject.id)
            .where(Subject.id.in_(subject_ids))
            .order_by(Subject.priority.desc().nulls_last(), Subject.id)
        ).first()
    return _label(node, venues, top) if top is not None else None


def stop(nodes: list[Node]) -> None:
    for node in nodes:
        node.server.stop()
        node.store.dispose()


def run_federation_demo(
    root: Path, *, seed: int = 1, scale: str = "small", say: Callable[[str], None] | None = None
) -> StoryResult:
    """``vigil demo --federation``: synth split CA/GB/US, three nodes, the story, then stop."""
    from vigil.synth.generate import generate
    from vigil.workflows.operation.demo import prepare_demo_folder

    announce = say or (lambda _line: None)
    paths = prepare_demo_folder(root)
    announce(f"synth: a {scale}-scale operation split between CA, GB and US")
    generate(paths.operation, seed=seed, scale=scale, agencies=list(STORY_AGENCIES))
    result = run_story(root, paths.operation, announce)
    stop(result.nodes)
    return result
