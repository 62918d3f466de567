"""Scoring the network steps against a synthetic operation's truth.json.

Subjects map to truth persons through their accounts: each account is (platform, username)
compared case-insensitively, and a subject is the person owning most of its accounts.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigil.store.db import Store
from vigil.store.models import Selector, Sighting, Subject, SubjectSelector


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


_IRC_OP = re.compile(r"-!- mode/(?P<room>\S+) \[\+o (?P<nick>\S+)\]")


def record_venue_roles_from_sources(store: Store, operation: Path, truth: dict[str, Any]) -> int:
    """Stand-in for what ingest should record: venue roles the raw sources carry.

    phpBB ``phpbb_users.user_type`` 3 (founder) or ``group_id`` 5 (administrators), and IRC
    ``mode/#room [+o nick]`` lines, written as ``extra["platform_role"]`` on the account's
    own sightings. Reads the evidence files only, never the truth's roles.
    """
    roles: dict[tuple[str, str], dict[str, str]] = {}
    for source in truth["sources"]:
        path = operation / source["path"]
        if source["format"] == "phpbb":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                for username, user_type in db.execute(
                    "SELECT username, user_type FROM phpbb_users WHERE user_type = 3 "
                    "OR group_id = 5"
                ):
                    role = "founder" if user_type == 3 else "administrator"
                    roles[(source["platform"], username.casefold())] = {"platform_role": role}
        elif source["format"] == "irc":
            for match in _IRC_OP.finditer(path.read_text(encoding="utf-8")):
                key = (source["platform"], match["nick"].casefold())
                roles[key] = {"platform_role": "operator", "room": match["room"]}
    changed = 0
    with store.transaction() as session:
        for (platform, value), extra in roles.items():
            account = session.scalars(
                select(Selector).where(
                    Selector.kind == "username",
                    Selector.platform == platform,
                    Selector.value == value,
                )
            ).first()
            if account is None:
                continue
            for sighting in session.scalars(
                select(Sighting).where(
                    Sighting.selector_id == account.id, Sighting.account_id == account.id
                )
            ):
                sighting.extra = {**(sighting.extra or {}), **extra}
                changed += 1
    return changed
