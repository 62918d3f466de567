"""Scoring the network steps against a synthetic operation's truth.json.

Subjects map to truth persons through their accounts: each account is (platform, username)
compared case-insensitively, and a subject is the person owning most of its accounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from vigil.store.db import Store
from vigil.store.models import Selector, Subject, SubjectSelector


@dataclass(frozen=True)
class NetworkQuality:
    admin_rank: int | None
    distributors: int
    distributors_in_top10: int
    suspects: int
    suspects_with_true_country: int
    wrong_countries: list[tuple[str, str, str | None]]
    """(person, true country, decided country) for every miss."""

    @property
    def distributor_share_top10(self) -> float:
        return self.distributors_in_top10 / self.distributors if self.distributors else 1.0

    @property
    def country_accuracy(self) -> float:
        return self.suspects_with_true_country / self.suspects if self.suspects else 1.0


def _account_owner(truth: dict[str, Any]) -> dict[tuple[str, str], str]:
    owner = {}
    for person in truth["persons"]:
        for account in person["accounts"]:
            owner[(account["platform"].casefold(), account["username"].casefold())] = person["id"]
    return owner


def subject_persons(store: Store, truth: dict[str, Any]) -> tuple[dict[int, str], dict[str, int]]:
    """Subject -> its majority person; person -> the subject holding most of its accounts."""
    owner = _account_owner(truth)
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    with store.reading() as session:
        rows = session.execute(
            select(SubjectSelector.subject_id, Selector.platform, Selector.value)
            .join(Selector, Selector.id == SubjectSelector.selector_id)
            .where(Selector.kind == "username")
        )
        for subject_id, platform, value in rows:
            person = owner.get((platform.casefold(), value.casefold()))
            if person is not None:
                votes[subject_id][person] += 1
    subject_person = {s: c.most_common(1)[0][0] for s, c in votes.items()}
    best: dict[str, tuple[int, int]] = {}
    for subject_id, counter in votes.items():
        for person, n in counter.items():
            if person not in best or n > best[person][0]:
                best[person] = (n, subject_id)
    return subject_person, {person: s for person, (_n, s) in best.items()}


def network_quality(store: Store, truth: dict[str, Any], ranked_ids: list[int]) -> NetworkQuality:
    subject_person, person_subject = subject_persons(store, truth)
    roles = {p["id"]: p["role"] for p in truth["persons"]}
    ranked_persons = [subject_person.get(s) for s in ranked_ids]
    admin_rank = next(
        (i for i, p in enumerate(ranked_persons, start=1) if p and roles[p] == "admin"), None
    )
    distributors = [p["id"] for p in truth["persons"] if p["role"] == "distributor"]
    top10 = {p for p in ranked_persons[:10] if p}
    with store.reading() as session:
        countries = dict(session.execute(select(Subject.id, Subject.country)).all())
    wrong = []
    suspects = [p for p in truth["persons"] if p["role"] != "victim"]
    for person in suspects:
        decided = countries.get(person_subject.get(person["id"], -1))
        if decided != person["country"]:
            wrong.append((person["id"], person["country"], decided))
    return NetworkQuality(
        admin_rank=admin_rank,
        distributors=len(distributors),
        distributors_in_top10=sum(1 for d in distributors if d in top10),
        suspects=len(suspects),
        suspects_with_true_country=len(suspects) - len(wrong),
        wrong_countries=wrong,
    )
