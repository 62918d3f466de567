"""What the writers actually put on disk, so truth is computed from the documents themselves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.synth.model import Account, MediaFile, Person, Send

FILLER = [
    "hey all",
    "night all",
    "check your DMs",
    "back later",
    "anyone around?",
    "brb",
    "thanks",
    "cheers",
    "ok",
    "same here",
    "lol",
    "good morning",
    "sounds good",
    "see you",
    "link is down",
    "try again later",
    "new stuff soon",
    "who is on tonight?",
    "got it",
    "server was slow today",
    "welcome",
    "read the rules first",
    "moving to the other room",
]
OPERATION_START = datetime(2006, 2, 6, 18, 0, tzinfo=UTC)


@dataclass
class Ledger:
    sources: list[dict[str, object]] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    selectors: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    accounts_written: set[tuple[str, str]] = field(default_factory=set)
    phase: str = ""
    """The writer now running (``generate`` sets it), so a split can say who holds what."""
    by_phase: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)
    """phase -> (kind, platform, value) as written; for an IP the platform slot holds the
    year it was written as seen in (deconfliction buckets addresses by year)."""
    dirty: list[dict[str, str]] = field(default_factory=list)
    """Dirty values written into sound records (an email reading ``none``, a phone with no
    digit): each must come through ingest as a warning, kept verbatim, never a selector."""

    def selector(
        self, person: Person, kind: str, value: str | None, at: datetime | None = None
    ) -> None:
        if value:
            self.selectors.setdefault(person.id, set()).add((kind, value))
            year = f"{at.year:04d}" if at is not None and kind == "ip" else ""
            self.by_phase.setdefault(self.phase, set()).add((kind, year, value))

    def account(self, account: Account) -> None:
        self.accounts_written.add((account.platform, account.username.casefold()))
        written = self.by_phase.setdefault(self.phase, set())
        written.add(("username", account.platform, account.username))
        if account.account_id:
            written.add(("account", account.platform, account.account_id))

    def dirty_value(self, path: str, kind: str, value: str) -> None:
        self.dirty.append({"path": path, "kind": kind, "value": value})

    def source(self, fmt: str, path: str, platform: str | None) -> None:
        self.sources.append({"format": fmt, "path": path, "platform": platform})


@dataclass
class Traffic:
    """What every document writer shares: where to write, who acts, which files circulate."""

    out: Path
    persons: list[Person]
    circulating: list[MediaFile]
    series: dict[str, list[MediaFile]]
    seed: int
    days: int
    ledger: Ledger

    def rng(self, topic: str) -> random.Random:
        return random.Random(f"{self.seed}:{topic}")

    def files_for(self, rng: random.Random, person: Person, count: int) -> list[MediaFile]:
        return pick_files(rng, person, self.circulating, self.series, count)


def moment(rng: random.Random, days: int, active_days: tuple[int, int] | None = None) -> datetime:
    """A random evening minute within the operation's period, or the account's own window."""
    day = rng.randrange(*active_days) if active_days else rng.randrange(days)
    return OPERATION_START + timedelta(days=day, minutes=rng.randrange(0, 330))


def accounts_on(persons: list[Person], platform: str) -> list[tuple[Person, Account]]:
    return [(p, a) for p in persons for a in p.accounts if a.platform == platform]


def pick_files(
    rng: random.Random,
    person: Person,
    circulating: list[MediaFile],
    series: dict[str, list[MediaFile]],
    count: int,
) -> list[MediaFile]:
    """What this person passes on: producers lead with their own series."""
    chosen: list[MediaFile] = []
    own = [
        m for items in series.values() for m in items if person.camera and m.camera == person.camera
    ]
    for _ in range(count):
        if own and rng.random() < 0.6:
            chosen.append(rng.choice(own))
        else:
            chosen.append(rng.choice(circulating))
    return chosen
