"""One resolution run over plain data: profiles in, subjects (clusters with explained links) out.

Full: every candidate pair is scored. Incremental: the groups of an earlier run are kept as
they were, and only the accounts they do not hold (new ones, and those of any group an analyst
decision now contradicts) plus accounts with new evidence (``touched``) are scored, against
everyone and against each other.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.collector import collector_paused
from vigil.identity.account_table import AccountTable
from vigil.identity.clusters import Cluster, Constraints, Link, cluster, pair
from vigil.identity.features import (
    AccountColumns,
    Population,
    account_columns,
    compare,
)
from vigil.identity.learning import learn
from vigil.identity.linkage import LinkageRun, open_linkage
from vigil.identity.model import LINK_THRESHOLD, PRIORS, Model, score
from vigil.identity.profiles import AccountProfile
from vigil.identity.reasons import reasons


@dataclass(frozen=True)
class Resolution:
    clusters: list[Cluster]
    compared_pairs: int
    scored_links: int  # pairs at or above the threshold
    rescored_accounts: int  # accounts scored this run (all of them in a full run)
    near_misses: list[tuple[int, int, float]]  # pairs below the threshold, at or above the floor
    columns: Mapping[int, AccountColumns]  # an AccountTable: rows are read on demand
    model: Model  # the m and u this run applied (learned now, or given)


def _connected(group: Cluster) -> bool:
    """Whether the group's stored links still join all its members (a split breaks them)."""
    parent = {m: m for m in group.members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in group.links:
        if link.a in parent and link.b in parent:
            parent[find(link.a)] = find(link.b)
    return len({find(m) for m in group.members}) == 1


def _violates(group: Cluster, constraints: Constraints, owner: dict[int, int]) -> bool:
    if not _connected(group):
        return True
    members = set(group.members)
    for a, b in constraints.cannot_link:
        if a in members and b in members:
            return True
    for a, b in constraints.must_link:
        if (a in members) != (b in members) and a in owner and b in owner:
            return True
    victims = {m in constraints.victims for m in group.members}
    return len(victims) > 1


def resolve(
    profiles: Collection[AccountProfile],
    constraints: Constraints,
    previous: Sequence[Cluster] = (),
    *,
    incremental: bool = False,
    threshold: float = LINK_THRESHOLD,
    threads: int | None = None,
    confirmed: Sequence[Link] = (),
    touched: Iterable[int] = (),
    review_floor: float | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    model: Model | None = None,
) -> Resolution:
    """Subjects over ``profiles``. With ``review_floor``, pairs scored between it and the
    threshold come back as ``near_misses`` (what the review queue is made of).

    ``model`` is what an earlier full run learned (an incremental run applies it again, so
    that what was decided before and what is scored now weigh evidence alike); without it
    the model is learned from ``profiles`` (``vigil.identity.learning``) on DuckDB, whatever
    ``engine`` then scores the pairs.

    Python's cyclic garbage collector is paused for the run: a run makes millions of small
    tuples and strings that are never cyclic, and at a million accounts the collector's
    repeated scans of them cost more than the work itself.
    """
    with collector_paused():
        return _resolve(
            profiles,
            constraints,
            previous,
            incremental=incremental,
            threshold=threshold,
            threads=threads,
            confirmed=confirmed,
            touched=touched,
            review_floor=review_floor,
            engine=engine,
            spark_master=spark_master,
            model=model,
        )


def _resolve(
    profiles: Collection[AccountProfile],
    constraints: Constraints,
    previous: Sequence[Cluster],
    *,
    incremental: bool,
    threshold: float,
    threads: int | None,
    confirmed: Sequence[Link],
    touched: Iterable[int],
    review_floor: float | None,
    engine: str,
    spark_master: str | None,
    model: Model | None,
) -> Resolution:
    columns = _columns(profiles)
    if model is None:
        model = learn(columns, threads)
    fixed: list[Cluster] = []
    if incremental and previous:
        owner = {m: i for i, g in enumerate(previous) for m in g.members}
        fixed = [
            g
            for g in previous
            if all(m in columns for m in g.members) and not _violates(g, constraints, owner)
        ]
    # accounts with evidence from sources ingested since the last run are scored again, while
    # staying in their subjects; everything else an earlier run already compared is left alone
    held = {m for g in fixed for m in g.members} - set(touched)
    is_new = ~np.isin(columns.ids, np.fromiter(held, dtype=np.int64, count=len(held)))
    new_count = int(is_new.sum())
    keep = threshold if review_floor is None else min(threshold, review_floor)
    run = LinkageRun([], 0)
    if new_count and (fixed or new_count > 1):  # nothing to score starts no engine (Spark)
        linkage = open_linkage(engine, threads, spark_master, model)
        try:
            if fixed:
                run = linkage.score_new(columns.where(~is_new), columns.where(is_new), keep)
            else:
                run = linkage.score_all(columns, keep)
        finally:
            linkage.close()
    links = [
        Link(p.a, p.b, p.probability, (f"rule: {p.rule}",) if p.rule else ())
        for p in run.pairs
        if p.probability >= threshold
    ]
    near = [(p.a, p.b, p.probability) for p in run.pairs if p.probability < threshold]
    compared, scored = run.compared_pairs, len(links)
    del run  # at ten million accounts the scored pairs alone take gigabytes
    clusters = cluster(columns, links, constraints, threshold, fixed=fixed, confirmed=confirmed)
    del links
    _explain_links(clusters, columns)  # only the links that joined accounts
    return Resolution(clusters, compared, scored, new_count, near, columns, model)


def _columns(profiles: Collection[AccountProfile]) -> AccountTable:
    """Every account's columns, in one Arrow table. ``profiles`` are read twice (the counts
    first, then the columns), so a caller may hand over something that reads them from disk
    on each pass. The counts are needed only to build the columns: they go before the engine
    starts, not at the end of the run."""
    population = Population.of(profiles)
    return AccountTable.build(profiles, population)


# links explained per batch: the rows of their accounts are read from the table together
EXPLAIN_BATCH_LINKS = 50_000


def _explain_links(clusters: Sequence[Cluster], columns: AccountTable) -> None:
    """Every subject's links with their reasons, the accounts' rows read from the table a
    batch of subjects at a time (one read per account would cost more than the explanation)."""
    batch: list[Cluster] = []
    size = 0
    for group in clusters:
        if group.links:
            batch.append(group)
            size += len(group.links)
        if size >= EXPLAIN_BATCH_LINKS:
            _explain_batch(batch, columns)
            batch, size = [], 0
    _explain_batch(batch, columns)


def _explain_batch(batch: list[Cluster], columns: AccountTable) -> None:
    rows = columns.rows(m for group in batch for link in group.links for m in (link.a, link.b))
    for group in batch:
        group.links = [_explained(link, rows) for link in group.links]


def _explained(link: Link, columns: Mapping[int, AccountColumns]) -> Link:
    """The link with its reasons in words, written afresh (a kept link is not explained twice:
    re-running resolve with nothing new must not append the same reasons again)."""
    rule = tuple(line for line in link.reasons[:1] if line.startswith("rule:"))
    if link.decided_by != "model" or (link.reasons and not rule):
        return link
    a, b = columns[link.a], columns[link.b]
    words = tuple(reasons(compare(a, b), a, b))
    return Link(link.a, link.b, link.probability, rule + words, link.decided_by)


def explain_pair(
    a: AccountProfile, b: AccountProfile, population: Population, model: Model = PRIORS
) -> Link:
    """The model's verdict and reasons for one pair, e.g. for an analyst's confirm."""
    ca, cb = account_columns(a, population), account_columns(b, population)
    evidence = compare(ca, cb)
    verdict = score(evidence, ca, cb, model)
    x, y = pair(a.account_id, b.account_id)
    return Link(x, y, verdict.probability, tuple(reasons(evidence, ca, cb)))
