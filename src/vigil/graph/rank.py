"""Who matters most: network measures plus severity, combined into one explained score.

The score is out of 100 and is a sum of terms, each a figure scaled against the largest
figure in this operation (log-scaled, so one prolific sender does not flatten everyone else)
times the term's weight. Severity outweighs position: a coordinator acts first on whoever
spreads known material to many people or is the first place new material appears. Running
a venue (a forum's founder or administrator, a channel operator) weighs more than being the
largest distributor, because taking that person down removes the venue for everyone, as
taking down the story's administrator did. Network position (PageRank, betweenness) breaks
ties between people who look alike on those counts. Every term is kept with its raw figure and its
points, so each score can be read back in words.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import igraph as ig

from vigil.graph.build import SubjectGraph, Tally, build_subject_graph, tally_subjects
from vigil.graph.model import Community, NetworkInput, NetworkResult, RankedSubject, ScoreTerm

WEIGHTS = {
    "files_distributed": 15.0,
    "recipients": 11.0,
    "alert_files": 10.0,
    "new_files": 11.0,
    "contact": 6.0,
    "administers": 35.0,
    "pagerank": 8.0,
    "betweenness": 4.0,
}
ALL_OR_NOTHING = frozenset({"administers"})
"""Terms where having it at all is the signal: running one venue counts in full."""
EXACT_BETWEENNESS_MAX_NODES = 2000
BETWEENNESS_SAMPLE_SOURCES = 500


@dataclass(frozen=True)
class Measures:
    degree: list[int]
    pagerank: list[float]
    betweenness: list[float]
    kcore: list[int]
    membership: list[int]
    sampled: bool


def measure(graph: SubjectGraph, seed: int = 0) -> Measures:
    """Centralities and Leiden communities; betweenness is estimated on large graphs."""
    und = graph.undirected
    n = und.vcount()
    if n == 0:
        return Measures([], [], [], [], [], False)
    degree = [len(graph.strong_neighbours.get(key, ())) for key in graph.keys]
    pagerank = graph.directed.pagerank(weights="weight", directed=True)
    distances = [1.0 / w for w in und.es["weight"]] if und.ecount() else None
    sampled = n > EXACT_BETWEENNESS_MAX_NODES
    if sampled:
        sources = random.Random(seed).sample(range(n), BETWEENNESS_SAMPLE_SOURCES)
        raw = und.betweenness(directed=False, weights=distances, sources=sources)
        scale = n / BETWEENNESS_SAMPLE_SOURCES
        raw = [value * scale for value in raw]
    else:
        raw = und.betweenness(directed=False, weights=distances)
    pairs = (n - 1) * (n - 2) / 2 if n > 2 else 1.0
    betweenness = [value / pairs for value in raw]
    simple = und.copy()
    simple.simplify()
    kcore = simple.coreness()
    membership = _leiden(und, seed)
    return Measures(degree, pagerank, betweenness, kcore, membership, sampled)


def _leiden(graph: ig.Graph, seed: int) -> list[int]:
    """Leiden on modularity with a fixed seed, so the same evidence gives the same groups."""
    if graph.ecount() == 0:
        return list(range(graph.vcount()))
    previous = ig.set_random_number_generator(random.Random(seed))
    try:
        clustering = graph.community_leiden(
            objective_function="modularity", weights="weight", n_iterations=-1
        )
    finally:
        ig.set_random_number_generator(previous or random)
    # Number communities by size, largest first, so "community 0" means the main one.
    sizes: dict[int, int] = {}
    for label in clustering.membership:
        sizes[label] = sizes.get(label, 0) + 1
    order = sorted(sizes, key=lambda label: (-sizes[label], label))
    renumber = {label: i for i, label in enumerate(order)}
    return [renumber[label] for label in clustering.membership]


def _scaled(value: float, largest: float) -> float:
    if value <= 0 or largest <= 0:
        return 0.0
    return math.log1p(value) / math.log1p(largest)


def rank(data: NetworkInput, seed: int = 0) -> NetworkResult:
    """Every subject with its score, measures and reasons, highest score first."""
    graph = build_subject_graph(data)
    measures = measure(graph, seed)
    tallies = tally_subjects(data)
    index = {key: i for i, key in enumerate(graph.keys)}
    labels = {s.id: s.label for s in data.subjects}
    ranked_ids = [s.id for s in data.subjects if s.role != "victim"]

    raw: dict[int, dict[str, float]] = {}
    for subject_id in ranked_ids:
        tally = tallies.get(subject_id, Tally())
        i = index[f"subject:{subject_id}"]
        raw[subject_id] = {
            "files_distributed": tally.files_sent,
            "recipients": len(tally.recipients),
            "alert_files": len(tally.alert_files),
            "new_files": len(tally.new_files),
            "contact": data.contact_indicators.get(subject_id, 0),
            "administers": len(data.platform_roles.get(subject_id, ())),
            "pagerank": measures.pagerank[i],
            "betweenness": measures.betweenness[i],
        }
    largest = {name: max((r[name] for r in raw.values()), default=0.0) for name in WEIGHTS}

    ranking: list[RankedSubject] = []
    for subject_id in ranked_ids:
        tally = tallies.get(subject_id, Tally())
        i = index[f"subject:{subject_id}"]
        terms = [
            _term(
                name,
                raw[subject_id][name],
                largest[name],
                tally,
                measures,
                i,
                data.platform_roles.get(subject_id, []),
            )
            for name in WEIGHTS
        ]
        score = round(sum(term.points for term in terms), 2)
        reasons = [t.text for t in sorted(terms, key=lambda t: -t.points) if t.points > 0]
        if not reasons:
            reasons = ["no distribution, known or new material, or network ties in the evidence"]
        ranking.append(
            RankedSubject(
                subject_id=subject_id,
                label=labels[subject_id],
                score=score,
                degree=measures.degree[i],
                betweenness=round(measures.betweenness[i], 6),
                pagerank=round(measures.pagerank[i], 6),
                kcore=measures.kcore[i],
                community=measures.membership[i],
                files_distributed=tally.files_sent,
                distinct_files_distributed=len(tally.distinct_files),
                recipients=len(tally.recipients),
                alert_files=len(tally.alert_files),
                new_files=len(tally.new_files),
                contact_indicators=data.contact_indicators.get(subject_id, 0),
                platform_roles=sorted(data.platform_roles.get(subject_id, [])),
                reasons=reasons,
                terms=terms,
            )
        )
    ranking.sort(key=lambda r: (-r.score, -r.files_distributed, r.subject_id))
    return NetworkResult(ranking, _communities(ranking), measures.sampled)


def _term(
    name: str,
    value: float,
    largest: float,
    tally: Tally,
    measures: Measures,
    i: int,
    roles: list[str],
) -> ScoreTerm:
    share = min(value, 1.0) if name in ALL_OR_NOTHING else _scaled(value, largest)
    points = round(WEIGHTS[name] * share, 2)
    weight = f"{points:g} of {WEIGHTS[name]:g} points"
    texts = {
        "files_distributed": (
            f"sent {int(value)} files ({len(tally.distinct_files)} distinct): {weight}"
        ),
        "recipients": f"sent files to {int(value)} distinct accounts: {weight}",
        "alert_files": f"held or sent {int(value)} known alert files: {weight}",
        "new_files": (f"first seen with {int(value)} new (uncatalogued or series) files: {weight}"),
        "contact": f"{int(value)} provider reports indicate a contact offence: {weight}",
        "administers": f"runs {', '.join(sorted(roles)) or 'no venue'}: {weight}",
        "pagerank": f"PageRank {value:.4f} (files flow to them from many): {weight}",
        "betweenness": (
            f"betweenness {value:.4f} (bridges parts of the network, k-core "
            f"{measures.kcore[i]}): {weight}"
        ),
    }
    return ScoreTerm(name=name, value=round(value, 6), points=points, text=texts[name])


def _communities(ranking: list[RankedSubject]) -> list[Community]:
    members: dict[int, list[int]] = {}
    for item in ranking:  # ranking order, so members come highest priority first
        members.setdefault(item.community, []).append(item.subject_id)
    return [
        Community(id=cid, size=len(ids), members=ids)
        for cid, ids in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
