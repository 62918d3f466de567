"""Two graphs from the evidence: the full picture, and the subject network that is measured.

The *evidence graph* keeps every kind of node an analyst reasons about (subjects, accounts,
rooms and files) with the evidence on each edge; it is what is exported and what evidence
paths walk. The *subject graph* collapses accounts into their subjects (an account with no
subject stands for itself) and rooms into co-presence ties, because centrality must compare
people, not a person's three aliases or a busy channel.

Co-presence is weighted the way bipartite projections usually are: a shared room of ``n``
members adds ``1 / (n - 1)`` to each pair, so each member's ties to one room sum to one and a
busy room does not drown the file transfers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import igraph as ig

from vigil.graph.model import NetworkInput

TRANSFER_WEIGHT_PER_FILE = 1.0
MESSAGE_WEIGHT = 0.25
MAX_COPRESENCE_ROOM_MEMBERS = 400
"""Bigger rooms add no co-presence ties: a room of thousands says little about any pair, and
its clique alone would be millions of edges."""
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Tally:
    """Distribution figures for one subject (docs/formats.md: sends and recipient accounts)."""

    files_sent: int = 0
    distinct_files: set[int] = field(default_factory=set)
    recipients: set[int] = field(default_factory=set)
    alert_files: set[int] = field(default_factory=set)
    new_files: set[int] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)


@dataclass
class SubjectGraph:
    """The measured network: undirected ties, plus directed 'received from' for PageRank."""

    keys: list[str]
    undirected: ig.Graph
    directed: ig.Graph
    strong_neighbours: dict[str, set[str]]


def node_of_account(data: NetworkInput) -> dict[int, str]:
    """The subject-graph node each account belongs to."""
    return {
        account.id: f"subject:{account.subject_id}"
        if account.subject_id is not None
        else f"account:{account.id}"
        for account in data.accounts
    }


def _send_key(interaction_index: int, data: NetworkInput) -> tuple[object, ...]:
    """One DM to three people is three events but one send: group them back."""
    item = data.interactions[interaction_index]
    if item.send_key is not None:
        return ("send", item.send_key, item.file_id)
    if item.room is not None or not item.targets:
        return ("event", interaction_index)
    return (item.actor, item.occurred_at, item.file_id, item.kind)


def tally_subjects(data: NetworkInput) -> dict[int, Tally]:
    """Files sent, recipients, alert and new material, per subject id."""
    owner = {a.id: a.subject_id for a in data.accounts}
    facts = {f.id: f for f in data.files}
    tallies: dict[int, Tally] = {s.id: Tally() for s in data.subjects}
    seen_sends: set[tuple[object, ...]] = set()
    first_sender: dict[int, tuple[tuple[datetime, int], int]] = {}
    received: dict[int, set[int]] = defaultdict(set)
    for index, item in enumerate(data.interactions):
        subject = owner.get(item.actor)
        tally = tallies.get(subject) if subject is not None else None
        if tally is not None and item.room:
            tally.rooms.add(item.room)
        if not item.is_send:
            continue
        if item.file_id is not None:
            for target in item.targets:
                target_subject = owner.get(target)
                if target_subject is not None:
                    received[item.file_id].add(target_subject)
        if tally is None or subject is None:
            continue
        key = _send_key(index, data)
        if key not in seen_sends:
            seen_sends.add(key)
            tally.files_sent += 1
        tally.recipients.update(t for t in item.targets if t != item.actor)
        if item.file_id is None:
            continue  # a send whose source named no hash counts as a send only
        tally.distinct_files.add(item.file_id)
        fact = facts.get(item.file_id)
        if fact is not None and fact.alert:
            tally.alert_files.add(item.file_id)
        when = (item.occurred_at or _NEVER, index)
        best = first_sender.get(item.file_id)
        if best is None or when < best[0]:
            first_sender[item.file_id] = (when, subject)
    for file_id, (_when, subject) in first_sender.items():
        fact = facts.get(file_id)
        if fact is not None and fact.new and subject in tallies:
            tallies[subject].new_files.add(file_id)
    for holding in data.holdings:
        tally = tallies.get(holding.subject_id)
        fact = facts.get(holding.file_id)
        if tally is None or fact is None:
            continue
        if fact.alert:
            tally.alert_files.add(holding.file_id)
        if fact.new and holding.subject_id not in received[holding.file_id]:
            tally.new_files.add(holding.file_id)
    return tallies


def build_subject_graph(data: NetworkInput) -> SubjectGraph:
    node_of = node_of_account(data)
    keys = sorted(
        {f"subject:{s.id}" for s in data.subjects} | set(node_of.values()),
        key=_natural,
    )
    position = {key: i for i, key in enumerate(keys)}
    undirected_w: dict[tuple[int, int], float] = defaultdict(float)
    directed_w: dict[tuple[int, int], float] = defaultdict(float)
    strong: dict[str, set[str]] = defaultdict(set)
    room_members: dict[str, set[int]] = defaultdict(set)

    for item in data.interactions:
        sender_key = node_of.get(item.actor)
        if sender_key is None:
            continue
        sender = position[sender_key]
        if item.room:
            room_members[item.room].add(sender)
        weight = TRANSFER_WEIGHT_PER_FILE if item.is_send else MESSAGE_WEIGHT
        for target in item.targets:
            target_key = node_of.get(target)
            if target_key is None or target_key == sender_key:
                continue
            receiver = position[target_key]
            if item.room:
                room_members[item.room].add(receiver)
            undirected_w[_pair(sender, receiver)] += weight
            directed_w[(receiver, sender)] += weight
            strong[sender_key].add(target_key)
            strong[target_key].add(sender_key)

    for members in room_members.values():
        if not 2 <= len(members) <= MAX_COPRESENCE_ROOM_MEMBERS:
            continue
        share = 1.0 / (len(members) - 1)
        ordered = sorted(members)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                undirected_w[(a, b)] += share
                directed_w[(a, b)] += share
                directed_w[(b, a)] += share

    undirected = ig.Graph(n=len(keys), edges=list(undirected_w), directed=False)
    undirected.es["weight"] = list(undirected_w.values())
    undirected.vs["key"] = keys
    directed = ig.Graph(n=len(keys), edges=list(directed_w), directed=True)
    directed.es["weight"] = list(directed_w.values())
    directed.vs["key"] = keys
    return SubjectGraph(keys, undirected, directed, strong)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _natural(key: str) -> tuple[str, int]:
    kind, _, number = key.partition(":")
    return (kind, int(number) if number.isdigit() else 0)
