"""The analyst's review queue: the pairs where a minute of human judgement changes the most.

A pair is worth reviewing when the model is unsure of it. Its *expected value* is the number
of account pairs an analyst's decision is expected to correct:

- two accounts the model left in different subjects, at probability ``p``: if the analyst
  confirms (which the model expects with chance ``p``), every account of one subject joins
  every account of the other, so the value is ``p * |A| * |B|``;
- a link the model made at probability ``p`` (below ``SURE``): if the analyst rejects it
  (chance ``1 - p``), the two sides it joined come apart, so the value is
  ``(1 - p) * |side A| * |side B|``.

Pairs an analyst already decided are never queued again: the decision feeds back through
the same confirm/reject records as any other. Each item carries the model's levels
and their weights (the evidence) and the reasons in words, so the analyst sees why the model
hesitates before deciding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vigil.identity.account_table import rows_of
from vigil.identity.clusters import Cluster, Constraints, pair
from vigil.identity.features import AccountColumns, compare
from vigil.identity.model import COMPARISONS, PRIORS, Model, score
from vigil.identity.reasons import reasons

# Below this probability a pair is not worth a minute: the model is sure they are apart.
REVIEW_FLOOR = 0.05
# A model link at or above this probability is not queued for a second look.
SURE = 0.999


@dataclass(frozen=True)
class LevelEvidence:
    comparison: str
    level: str
    weight_bits: float


@dataclass(frozen=True)
class ReviewItem:
    a: int
    b: int
    probability: float
    linked: bool  # the model put them in one subject
    expected_value: float  # account pairs a decision is expected to correct
    accounts_affected: int  # |A| * |B|: account pairs that a decision moves
    reasons: tuple[str, ...]
    evidence: tuple[LevelEvidence, ...]


def _explain(
    a: AccountColumns, b: AccountColumns, model: Model
) -> tuple[tuple[str, ...], tuple[LevelEvidence, ...]]:
    evidence = compare(a, b)
    verdict = score(evidence, a, b, model)
    levels = tuple(
        LevelEvidence(
            c.name,
            c.levels[verdict.levels[c.name]].label,
            round(model.weight_bits(c, verdict.levels[c.name]), 3),
        )
        for c in COMPARISONS
        if not c.levels[verdict.levels[c.name]].null
    )
    words = tuple(reasons(evidence, a, b))
    if verdict.rule:
        words = (f"rule: {verdict.rule}", *words)
    return words, levels


def _sides(group: Cluster) -> dict[tuple[int, int], tuple[int, int]]:
    """For each link of a subject's spanning tree, the sizes of the two parts it joins."""
    adjacent: dict[int, list[int]] = defaultdict(list)
    for link in group.links:
        adjacent[link.a].append(link.b)
        adjacent[link.b].append(link.a)
    total = len(group.members)
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for link in group.links:
        seen, stack = {link.a}, [link.a]
        while stack:
            node = stack.pop()
            for other in adjacent[node]:
                if other not in seen and {node, other} != {link.a, link.b}:
                    seen.add(other)
                    stack.append(other)
        out[pair(link.a, link.b)] = (len(seen), total - len(seen))
    return out


def review_queue(
    clusters: Iterable[Cluster],
    near_misses: Iterable[tuple[int, int, float]],
    columns: Mapping[int, AccountColumns],
    constraints: Constraints,
    limit: int | None = None,
    model: Model = PRIORS,
) -> list[ReviewItem]:
    """Unsure pairs, best first. ``near_misses`` are scored pairs (a, b, probability) at or
    above ``REVIEW_FLOOR``; links inside ``clusters`` are read from the clusters themselves."""
    groups = list(clusters)
    subject_of = {m: i for i, g in enumerate(groups) for m in g.members}
    decided = constraints.must_link | constraints.cannot_link
    candidates: dict[tuple[int, int], tuple[float, bool, int]] = {}
    for group in groups:
        for key, (left, right) in _sides(group).items():
            link = next(lk for lk in group.links if pair(lk.a, lk.b) == key)
            if link.decided_by == "model" and link.probability < SURE and key not in decided:
                candidates[key] = (link.probability, True, left * right)
    best_between: dict[tuple[int, int], tuple[float, tuple[int, int]]] = {}
    for a, b, probability in near_misses:
        key = pair(a, b)
        if key in decided or a not in subject_of or b not in subject_of:
            continue
        sa, sb = subject_of[a], subject_of[b]
        if sa == sb or probability < REVIEW_FLOOR:
            continue
        if (a in constraints.victims) != (b in constraints.victims):
            continue  # a victim is never joined with a suspect: nothing to decide
        subjects = (min(sa, sb), max(sa, sb))
        # one item per pair of subjects: the strongest pair between them speaks for both
        if subjects not in best_between or probability > best_between[subjects][0]:
            best_between[subjects] = (probability, key)
    for (sa, sb), (probability, key) in best_between.items():
        size = len(groups[sa].members) * len(groups[sb].members)
        candidates[key] = (probability, False, size)
    items = []
    columns = rows_of(columns, (m for key in candidates for m in key))
    for (a, b), (probability, linked, size) in candidates.items():
        value = (1.0 - probability if linked else probability) * size
        words, levels = _explain(columns[a], columns[b], model)
        items.append(ReviewItem(a, b, probability, linked, value, size, words, levels))
    items.sort(key=lambda i: (-i.expected_value, abs(0.5 - i.probability), i.a, i.b))
    return items[:limit] if limit is not None else items
