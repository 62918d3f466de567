"""Scored pairs become subjects, under the analyst's constraints.

Greedy constrained agglomeration: analyst confirms join first, then model links from the most
to the least probable, each joining two groups only if no analyst rejection lies between them
and it would not put a victim's account with a suspect's. Every join keeps the link that made
it, so each subject carries a spanning tree of explained links: one per account beyond the
first. Ties break on account ids, so the same input always gives the same subjects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Link:
    a: int
    b: int
    probability: float
    reasons: tuple[str, ...]
    decided_by: str = "model"  # model | analyst


@dataclass(frozen=True)
class Constraints:
    must_link: frozenset[tuple[int, int]] = frozenset()
    cannot_link: frozenset[tuple[int, int]] = frozenset()
    victims: frozenset[int] = frozenset()


@dataclass
class Cluster:
    members: list[int]
    links: list[Link] = field(default_factory=list)


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


class _Groups:
    def __init__(self, accounts: Iterable[int], constraints: Constraints):
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}
        self.links: dict[int, list[Link]] = {}
        self.cannot: dict[int, set[int]] = {}
        self.victims = constraints.victims
        for account in accounts:
            self.parent[account] = account
            self.members[account] = [account]
            self.links[account] = []
        for a, b in constraints.cannot_link:
            self.cannot.setdefault(a, set()).add(b)
            self.cannot.setdefault(b, set()).add(a)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def allowed(self, ra: int, rb: int) -> bool:
        small, large = sorted((ra, rb), key=lambda r: len(self.members[r]))
        large_set = set(self.members[large])
        for member in self.members[small]:
            if self.cannot.get(member, set()) & large_set:
                return False
        victim_a = self.members[ra][0] in self.victims
        victim_b = self.members[rb][0] in self.victims
        return victim_a == victim_b

    def join(self, link: Link) -> bool:
        ra, rb = self.find(link.a), self.find(link.b)
        if ra == rb or not self.allowed(ra, rb):
            return False
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        self.parent[gone] = keep
        self.members[keep].extend(self.members.pop(gone))
        self.links[keep].extend(self.links.pop(gone))
        self.links[keep].append(link)
        return True


def cluster(
    accounts: Iterable[int],
    links: Iterable[Link],
    constraints: Constraints,
    threshold: float,
    fixed: Iterable[Cluster] = (),
    confirmed: Iterable[Link] = (),
) -> list[Cluster]:
    """Subjects over ``accounts``. ``fixed`` groups (from earlier runs) start joined.

    A victim's account is never joined to a suspect's, not even by an analyst confirm:
    victims keep their own subjects. Analyst rejections are never crossed.
    """
    groups = _Groups(accounts, constraints)
    for group in fixed:
        for link in group.links:
            groups.join(link)
    explained = {pair(lk.a, lk.b): lk for lk in confirmed}
    confirms = [
        explained.get((a, b)) or Link(a, b, 1.0, ("confirmed by an analyst",), "analyst")
        for a, b in sorted(constraints.must_link)
        if a in groups.parent and b in groups.parent
    ]
    for link in confirms:
        groups.join(link)
    ordered = sorted(
        (lk for lk in links if lk.probability >= threshold),
        key=lambda lk: (-lk.probability, min(lk.a, lk.b), max(lk.a, lk.b)),
    )
    for link in ordered:
        if link.a in groups.parent and link.b in groups.parent:
            groups.join(link)
    out = [Cluster(sorted(members), groups.links[root]) for root, members in groups.members.items()]
    return sorted(out, key=lambda c: c.members[0])
