"""Ranking the network, evidence paths and graph exports: the store around the graph engine.

``rank_network`` writes each subject's priority (one audit entry for the whole ranking, with
every score in it), so ``vigil subjects`` and the report agree with ``network rank``.

The graph engines (igraph, which imports matplotlib itself, and networkx) are imported by the
functions that build a graph: ``refresh_subjects`` imports this module on every triage and
ingest, which rank nothing until subjects exist and their evidence changed, and importing the
engines took most of a second of every such command's start-up.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError
from vigil.graph.formats import EXPORT_FORMATS
from vigil.graph.model import NetworkInput, NetworkResult, PathStep, RankedSubject
from vigil.outputs import check_output_path
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Selector, Subject, SubjectSelector
from vigil.workflows.network.input import load_network_input
from vigil.workflows.sources.activity import Activity

RANK_SEED = 20060314


def rank_network(store: Store, actor: Actor, *, write: bool = True) -> NetworkResult:
    """Score every non-victim subject; with ``write``, store the scores as priorities."""
    store.require_initialised()
    with store.transaction() as session:
        if not write:
            return current_ranking(session)
        return store_priorities(session, actor, force=True) or current_ranking(session)


def ranking_of(data: NetworkInput) -> NetworkResult:
    """The one ranking: ``network rank``, ``refer``, the report and the stored priorities all
    come from here (deterministic, so a fresh ranking equals the stored one)."""
    from vigil.graph.rank import rank

    return rank(data, seed=RANK_SEED)


def current_ranking(session: Session, activity: Activity | None = None) -> NetworkResult:
    """The ranking of the evidence as it stands."""
    return ranking_of(load_network_input(session, activity))


def _input_fingerprint(data: NetworkInput) -> str:
    return hashlib.sha256(repr(data).encode()).hexdigest()


def _last_ranked_input(session: Session) -> str | None:
    value = audit.last_details(session, "network.rank").get("input_sha256")
    return value if isinstance(value, str) else None


def store_priorities(
    session: Session, actor: Actor, activity: Activity | None = None, *, force: bool = False
) -> NetworkResult | None:
    """Rank and store every subject's priority, one audit entry with every score.

    Ranking is global (betweenness, communities), so it cannot be patched per subject; what
    is incremental is that it runs only when its input changed since the last ranking
    (an ISP return or an outcome moves no priority). Returns None when nothing changed.
    """
    data = load_network_input(session, activity)
    fingerprint = _input_fingerprint(data)
    if not force and fingerprint == _last_ranked_input(session):
        return None
    result = ranking_of(data)
    scores = {item.subject_id: item.score for item in result.ranking}
    for subject in session.scalars(select(Subject)):
        if subject.id in scores and subject.priority != scores[subject.id]:
            subject.priority = scores[subject.id]
    audit.append(
        session,
        actor,
        "network.rank",
        "subject",
        None,
        {
            "subjects": len(scores),
            "communities": len(result.communities),
            "betweenness_sampled": result.betweenness_sampled,
            "input_sha256": fingerprint,
            "scores": {str(k): v for k, v in scores.items()},
        },
    )
    return result


RANK_KEYS = (
    "subject_id",
    "label",
    "score",
    "degree",
    "betweenness",
    "community",
    "files_distributed",
    "recipients",
)


def rank_row(item: RankedSubject) -> dict[str, object]:
    """The ``vigil network rank --json`` shape, contract keys first (the API returns the same)."""
    row = dataclasses.asdict(item)
    terms = row.pop("terms")
    ordered = {key: row.pop(key) for key in RANK_KEYS}
    return {**ordered, **row, "terms": terms}


def find_subject(session: Session, reference: str) -> Subject:
    """A subject by id, by label, or by one of its account usernames (case-insensitive)."""
    text = reference.strip()
    if text.isdigit():
        subject = session.get(Subject, int(text))
        if subject is not None:
            return subject
    folded = text.casefold()
    by_label = session.scalars(
        select(Subject).where(func.lower(Subject.label) == folded).order_by(Subject.id)
    ).first()
    if by_label is not None:
        return by_label
    by_account = session.scalars(
        select(Subject)
        .join(SubjectSelector, SubjectSelector.subject_id == Subject.id)
        .join(Selector, Selector.id == SubjectSelector.selector_id)
        .where(Selector.kind == "username", Selector.value == folded)
        .order_by(Subject.id)
    ).first()
    if by_account is None:
        raise NotFound(f"no subject {reference!r} (give an id, a label or an account username)")
    return by_account


@dataclass(frozen=True)
class EvidencePath:
    subject_a: int
    subject_b: int
    steps: list[PathStep]


def network_path(store: Store, reference_a: str, reference_b: str) -> EvidencePath:
    from vigil.graph.evidence import build_evidence_graph, evidence_path

    store.require_initialised()
    with store.reading() as session:
        a = find_subject(session, reference_a)
        b = find_subject(session, reference_b)
        data = load_network_input(session)
    steps = evidence_path(build_evidence_graph(data), a.id, b.id)
    return EvidencePath(a.id, b.id, steps)


def _subject_attributes(session: Session, result: NetworkResult) -> dict[int, dict[str, object]]:
    countries = dict(session.execute(select(Subject.id, Subject.country)).all())
    return {
        item.subject_id: {
            "score": item.score,
            "community": item.community,
            "country": countries.get(item.subject_id) or "",
        }
        for item in result.ranking
    }


def export_network(store: Store, actor: Actor, fmt: str, path: Path) -> list[Path]:
    """The evidence graph with scores and countries on subjects, for Gephi, yEd or i2."""
    from vigil.graph.evidence import build_evidence_graph
    from vigil.graph.export import export_graph

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    store.require_initialised()
    check_output_path(path, directory=fmt == "i2")
    with store.reading() as session:
        data: NetworkInput = load_network_input(session)
        result = ranking_of(data)
        attributes = _subject_attributes(session, result)
    evidence = build_evidence_graph(data, attributes)
    written = export_graph(evidence.graph, fmt, path)
    with store.transaction() as session:
        audit.append(
            session,
            actor,
            "network.export",
            "graph",
            None,
            {
                "format": fmt,
                "files": [str(p) for p in written],
                "nodes": evidence.graph.vcount(),
                "edges": evidence.graph.ecount(),
            },
        )
    return written
