"""`vigil resolve`: link accounts and selectors into subjects, and keep them stable.

Reads accounts and what was seen on them (docs/formats.md) into profiles, runs the identity
engine, and writes one ``Subject`` per person with a ``SubjectSelector`` per account and per
selector seen on those accounts. Each account row stores, as JSON in ``reasons``, the link
that brought it into its subject (the other account, the probability, the reasons in words
and numbers, and who decided: the model or an analyst). The subject's first account carries
no link.

Re-running gives the same subjects: a cluster keeps the id of the existing subject it shares
most accounts with. By default a run is incremental once subjects exist (only accounts no
subject holds are scored); ``full=True`` scores everything again. Analyst decisions
(``LinkDecision``) bind every run, full or incremental.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.identity.clusters import Cluster, Constraints, Link, pair
from vigil.identity.features import Population
from vigil.identity.linkage import ENGINES
from vigil.identity.model import LINK_THRESHOLD, Model
from vigil.identity.profiles import AccountProfile, subject_label
from vigil.identity.resolution import explain_pair
from vigil.identity.resolution import resolve as run_engine
from vigil.identity.spark import check_master
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    LinkDecision,
    Selector,
    Source,
    Subject,
    SubjectSelector,
    User,
    utcnow,
)
from vigil.workflows.identity.resolve_input import StoreAccounts, account_keys, load_accounts
from vigil.workflows.identity.subjects import retire_subject
from vigil.workflows.network.refresh import refresh_subjects


@dataclass(frozen=True)
class ResolveResult:
    mode: str  # full | incremental
    engine: str  # duckdb | spark
    accounts: int
    rescored_accounts: int
    compared_pairs: int
    links: int
    subjects: int
    victims: int
    created: int
    updated: int
    retired: int
    seconds: float
    placed: int = 0
    """Subjects with a decided country after this run (every subject is placed by it)."""


@dataclass(frozen=True)
class _Previous:
    clusters: list[Cluster]
    owner: dict[int, int]  # account id -> subject id


def _link_json(link: Link, keys: dict[int, str]) -> dict[str, Any]:
    return {
        "a": keys[link.a],
        "b": keys[link.b],
        "a_id": link.a,
        "b_id": link.b,
        "probability": round(link.probability, 6),
        "reasons": list(link.reasons),
        "decided_by": link.decided_by,
    }


def link_text(link: dict[str, Any]) -> str:
    return (
        f"{link['a']} ~ {link['b']} p={link['probability']:.4f} "
        f"({link['decided_by']}): " + "; ".join(link["reasons"])
    )


def _load_previous(session: Session, accounts: dict[int, Selector]) -> _Previous:
    members: dict[int, list[int]] = defaultdict(list)
    links: dict[int, list[Link]] = defaultdict(list)
    owner: dict[int, int] = {}
    rows = session.execute(
        select(
            SubjectSelector.subject_id, SubjectSelector.selector_id, SubjectSelector.reasons
        ).order_by(SubjectSelector.subject_id, SubjectSelector.selector_id)
    )
    for subject_id, selector_id, reasons in rows:
        if selector_id not in accounts or selector_id in owner:
            continue
        owner[selector_id] = subject_id
        members[subject_id].append(selector_id)
        stored = _parse(reasons).get("link")
        if stored and "a_id" in stored:
            links[subject_id].append(
                Link(
                    int(stored["a_id"]),
                    int(stored["b_id"]),
                    float(stored["probability"]),
                    tuple(stored.get("reasons", ())),
                    stored.get("decided_by", "model"),
                )
            )
    clusters = []
    for subject_id in sorted(members):
        inside = set(members[subject_id])
        kept = [lk for lk in links[subject_id] if lk.a in inside and lk.b in inside]
        clusters.append(Cluster(sorted(inside), kept))
    return _Previous(clusters, owner)


def _parse(reasons: str | None) -> dict[str, Any]:
    if not reasons:
        return {}
    try:
        value = json.loads(reasons)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def decision_constraints(
    session: Session, profiles: list[AccountProfile]
) -> tuple[Constraints, list[Link]]:
    """Analyst decisions as engine constraints, and each confirm as an explained link."""
    by_id = {p.account_id: p for p in profiles}
    users = dict(session.execute(select(User.id, User.username)).all())
    must: set[tuple[int, int]] = set()
    cannot: set[tuple[int, int]] = set()
    confirmed: list[Link] = []
    population: Population | None = None
    for decision in session.scalars(select(LinkDecision).order_by(LinkDecision.id)):
        key = pair(decision.selector_a_id, decision.selector_b_id)
        if key[0] not in by_id or key[1] not in by_id:
            continue
        if decision.decision == "reject":
            cannot.add(key)
            continue
        must.add(key)
        population = population or Population.of(profiles)
        evidence = explain_pair(by_id[key[0]], by_id[key[1]], population)
        who = users.get(decision.user_id, str(decision.user_id))
        words = (
            f"confirmed by analyst {who} at {decision.decided_at.isoformat(timespec='seconds')}",
            *evidence.reasons,
        )
        confirmed.append(Link(key[0], key[1], 1.0, words, "analyst"))
    victims = frozenset(p.account_id for p in profiles if p.victim)
    return Constraints(frozenset(must), frozenset(cannot - must), victims), confirmed


def _sources_at_last_run(session: Session) -> int | None:
    """The highest source id the last resolve had seen (from its audit entry)."""
    value = audit.last_details(session, "resolve.run").get("max_source_id")
    return int(value) if isinstance(value, int) else None


def last_model(session: Session) -> Model | None:
    """The model the last run applied (recorded with its audit entry; an incremental run
    records the one it was given), if it fits this version's comparisons."""
    return Model.from_json(audit.last_details(session, "resolve.run").get("model"))


def _touched_since_last_run(loaded: StoreAccounts, last_source: int | None) -> set[int]:
    """Accounts seen in a source ingested after the last resolve: their evidence changed."""
    if last_source is None:
        return set()
    return {a for a, sources in loaded.sources.items() if max(sources) > last_source}


def _assign_ids(clusters: list[Cluster], owner: dict[int, int]) -> dict[int, int | None]:
    """Cluster index -> existing subject id with the most shared accounts (each used once)."""
    overlaps: list[tuple[int, int, int]] = []
    for index, group in enumerate(clusters):
        counts: dict[int, int] = defaultdict(int)
        for member in group.members:
            if member in owner:
                counts[owner[member]] += 1
        overlaps += [(-n, subject, index) for subject, n in counts.items()]
    assigned: dict[int, int | None] = dict.fromkeys(range(len(clusters)))
    used: set[int] = set()
    for _n, subject, index in sorted(overlaps):
        if assigned[index] is None and subject not in used:
            assigned[index] = subject
            used.add(subject)
    return assigned


def _tree(group: Cluster) -> dict[int, Link]:
    """Each account but the first -> the link that joins it to the account before it."""
    adjacent: dict[int, list[Link]] = defaultdict(list)
    for link in group.links:
        adjacent[link.a].append(link)
        adjacent[link.b].append(link)
    root = group.members[0]
    parent_link: dict[int, Link] = {}
    queue, seen = deque([root]), {root}
    while queue:
        node = queue.popleft()
        for link in sorted(adjacent[node], key=lambda lk: (lk.a, lk.b)):
            other = link.b if link.a == node else link.a
            if other not in seen:
                seen.add(other)
                parent_link[other] = Link(
                    node, other, link.probability, link.reasons, link.decided_by
                )
                queue.append(other)
    return parent_link


def resolve(
    store: Store,
    actor: Actor,
    *,
    full: bool = False,
    threshold: float = LINK_THRESHOLD,
    threads: int | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> ResolveResult:
    started = time.perf_counter()
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if spark_master and engine != "spark":
        raise UsageError("--spark-master needs --engine spark")
    if spark_master:
        check_master(spark_master)
    store.require_initialised()
    with store.reading() as session:
        loaded = load_accounts(session)
        previous = _load_previous(session, loaded.selectors)
        constraints, confirmed = decision_constraints(session, loaded.profiles)
        decision_users = {
            pair(d.selector_a_id, d.selector_b_id): (d.user_id, d.decided_at)
            for d in session.scalars(select(LinkDecision))
        }
        last_sources = _sources_at_last_run(session)
        learned = last_model(session)
        # read with the accounts, so a source ingested during this run counts as new next time
        max_source = session.scalar(select(func.max(Source.id))) or 0
    # an incremental run weighs evidence as the full run before it did; without one to follow
    # (or after an upgrade that changed the levels) it is a full run, which learns afresh
    incremental = not full and bool(previous.clusters) and learned is not None
    touched = _touched_since_last_run(loaded, last_sources) if incremental else set()
    outcome = run_engine(
        loaded.profiles,
        constraints,
        previous.clusters,
        incremental=incremental,
        threshold=threshold,
        threads=threads,
        confirmed=confirmed,
        touched=touched,
        engine=engine,
        spark_master=spark_master,
        model=learned if incremental else None,
    )
    with store.transaction() as session:
        counts = _write(session, actor, loaded, outcome.clusters, previous, decision_users)
        result = ResolveResult(
            mode="incremental" if incremental else "full",
            engine=engine,
            accounts=len(loaded.profiles),
            rescored_accounts=outcome.rescored_accounts,
            compared_pairs=outcome.compared_pairs,
            links=outcome.scored_links,
            subjects=len(outcome.clusters),
            victims=counts["victims"],
            created=counts["created"],
            updated=counts["updated"],
            retired=counts["retired"],
            seconds=round(time.perf_counter() - started, 3),
        )
        audit.append(
            session,
            actor,
            "resolve.run",
            "subject",
            None,
            {
                **result.__dict__,
                "threshold": threshold,
                "max_source_id": max_source,
                "model": outcome.model.as_json(),
            },
        )
        # Subjects changed, so what derives from them does: countries and priorities.
        refreshed = refresh_subjects(session, actor)
        placed = sum(1 for d in refreshed.countries.decisions if d.country) if refreshed else 0
    return dataclasses.replace(result, placed=placed)


def _write(
    session: Session,
    actor: Actor,
    loaded: StoreAccounts,
    clusters: list[Cluster],
    previous: _Previous,
    decision_users: dict[tuple[int, int], tuple[int, datetime]],
) -> dict[str, int]:
    keys = account_keys(loaded)
    victims = {p.account_id for p in loaded.profiles if p.victim}
    assigned = _assign_ids(clusters, previous.owner)
    kept = {s for s in assigned.values() if s is not None}
    retired = {s for s in previous.owner.values()} - kept
    counts = {"created": 0, "updated": 0, "retired": 0, "victims": 0}
    for retired_id in sorted(retired):
        retired_subject = session.get(Subject, retired_id)
        if retired_subject is not None:
            retire_subject(session, retired_subject)
        counts["retired"] += 1
    now = utcnow()
    for index, group in enumerate(clusters):
        role = "victim" if group.members[0] in victims else "suspect"
        counts["victims"] += role == "victim"
        root = loaded.selectors[group.members[0]]
        label = subject_label(root.platform, root.display or root.value)
        subject_id = assigned[index]
        subject = session.get(Subject, subject_id) if subject_id is not None else None
        if subject is None:
            subject = Subject(label=label, role=role, status="open")
            session.add(subject)
            session.flush()
            counts["created"] += 1
        elif subject.label != label or subject.role != role:
            subject.label, subject.role = label, role
            counts["updated"] += 1
        desired = _desired_rows(group, keys, loaded, actor, decision_users, now)
        _sync_rows(session, subject.id, desired)
    return counts


def _desired_rows(
    group: Cluster,
    keys: dict[int, str],
    loaded: StoreAccounts,
    actor: Actor,
    decision_users: dict[tuple[int, int], tuple[int, datetime]],
    now: datetime,
) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    tree = _tree(group)
    for member in group.members:
        link = tree.get(member)
        if link is None:
            reasons = {"text": f"first account of the subject: {keys[member]}", "link": None}
            rows[member] = {
                "confidence": 1.0,
                "reasons": reasons,
                "decided_by": "model",
                "user_id": actor.user_id,
                "decided_at": now,
            }
            continue
        data = _link_json(link, keys)
        by_analyst = link.decided_by == "analyst"
        user_id, decided_at = decision_users.get(pair(link.a, link.b), (actor.user_id, now))
        rows[member] = {
            "confidence": link.probability,
            "reasons": {"text": link_text(data), "linked_to": keys[link.a], "link": data},
            "decided_by": "analyst" if by_analyst else "model",
            "user_id": user_id if by_analyst else actor.user_id,
            "decided_at": decided_at if by_analyst else now,
        }
    seen_on: dict[int, list[str]] = defaultdict(list)
    for member in group.members:
        for selector_id in sorted(loaded.seen_selectors.get(member, ())):
            seen_on[selector_id].append(keys[member])
    for selector_id, on in seen_on.items():
        if selector_id in rows:
            continue
        confidence = min(rows[m]["confidence"] for m in group.members if keys[m] in on)
        rows[selector_id] = {
            "confidence": confidence,
            "reasons": {"text": "seen on " + ", ".join(on), "seen_on": on},
            "decided_by": "model",
            "user_id": actor.user_id,
            "decided_at": now,
        }
    return rows


def _sync_rows(session: Session, subject_id: int, desired: dict[int, dict[str, Any]]) -> None:
    existing = {
        row.selector_id: row
        for row in session.scalars(
            select(SubjectSelector).where(SubjectSelector.subject_id == subject_id)
        )
    }
    for selector_id, stale in existing.items():
        if selector_id not in desired:
            session.delete(stale)
    session.flush()
    for selector_id, want in desired.items():
        text = json.dumps(want["reasons"], sort_keys=True, ensure_ascii=False)
        row = existing.get(selector_id)
        if row is None:
            session.add(
                SubjectSelector(
                    subject_id=subject_id,
                    selector_id=selector_id,
                    confidence=want["confidence"],
                    reasons=text,
                    decided_by=want["decided_by"],
                    user_id=want["user_id"],
                    decided_at=want["decided_at"],
                )
            )
        elif (row.reasons, row.decided_by, round(row.confidence, 6)) != (
            text,
            want["decided_by"],
            round(want["confidence"], 6),
        ):
            row.reasons = text
            row.confidence = want["confidence"]
            row.decided_by = want["decided_by"]
            row.user_id = want["user_id"]
            row.decided_at = want["decided_at"]
    session.flush()
