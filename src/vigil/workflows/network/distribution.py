"""Distribution: who supplied how many files to whom (docs/formats.md), per account and per subject.

The figure behind "he supplied 11,491 images to other users". It reads ``file_transfer``
events only, which ingest writes for exactly the file sends of docs/formats.md:

- ``files_sent``: distinct send actions (``(source, extra["send"])``; a DM to three people
  is three events but one send), each counted once per file;
- ``distinct_files_sent``: distinct File rows among them (File is keyed by SHA-256); a send
  whose source named no hash counts in ``files_sent`` only;
- ``recipients``: distinct recipient accounts, from ``target_id`` (DMs) and
  ``extra["recipients"]`` (IRC DCC SEND in a room); room and forum attachments add none.
- ``first_seen``/``last_seen``: the earliest and latest time the account was seen at all
  (any sighting on it, any event it did).

A subject's figures are the union over the accounts linked to it (``SubjectSelector``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.store.db import Actor, Store
from vigil.store.models import Event, Selector, Sighting, Subject, SubjectSelector
from vigil.workflows.operation.setup import find_case


@dataclass
class _Tally:
    sends: set[tuple[int, str]] = field(default_factory=set)
    files: set[int] = field(default_factory=set)
    recipients: set[int] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None

    def seen(self, low: datetime | None, high: datetime | None) -> None:
        if low is not None and (self.first is None or low < self.first):
            self.first = low
        if high is not None and (self.last is None or high > self.last):
            self.last = high

    def absorb(self, other: _Tally) -> None:
        self.sends |= other.sends
        self.files |= other.files
        self.recipients |= other.recipients
        self.seen(other.first, other.last)


@dataclass(frozen=True)
class AccountRef:
    platform: str
    username: str


@dataclass(frozen=True)
class Figures:
    """Contract B's figures for one account or one subject."""

    files_sent: int
    distinct_files_sent: int
    distinct_recipients: int
    recipients: list[AccountRef]
    first_seen: datetime | None
    last_seen: datetime | None

    @classmethod
    def of(cls, tally: _Tally, names: dict[int, AccountRef]) -> dict[str, Any]:
        return {
            "files_sent": len(tally.sends),
            "distinct_files_sent": len(tally.files),
            "distinct_recipients": len(tally.recipients),
            "recipients": _refs(tally.recipients, names),
            "first_seen": tally.first,
            "last_seen": tally.last,
        }


@dataclass(frozen=True)
class AccountDistribution(Figures):
    selector_id: int
    platform: str
    username: str


@dataclass(frozen=True)
class SubjectDistribution(Figures):
    subject_id: int
    label: str
    role: str
    accounts: list[AccountRef]


@dataclass(frozen=True)
class DistributionReport:
    accounts: list[AccountDistribution]
    subjects: list[SubjectDistribution]


def distribution(
    store: Store, actor: Actor, case_reference: str | None = None
) -> DistributionReport:
    """Per account and per subject; ``case_reference`` limits it to one case's sources."""
    store.require_initialised()
    with store.reading() as session:
        case_id = None
        if case_reference is not None:
            case_id = find_case(session, actor, case_reference).id
        return distribution_in(session, case_id)


def distribution_in(session: Session, case_id: int | None = None) -> DistributionReport:
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    sends = select(
        Event.id, Event.actor_id, Event.target_id, Event.file_id, Event.source_id, Event.extra
    ).where(Event.kind == "file_transfer", Event.actor_id.is_not(None))
    if case_id is not None:
        sends = sends.where(Event.case_id == case_id)
    for row in session.execute(sends):
        tally = tallies[row.actor_id]
        extra = row.extra or {}
        tally.sends.add((row.source_id, str(extra.get("send", f"event {row.id}"))))
        if row.file_id is not None:
            tally.files.add(row.file_id)
        if row.target_id is not None:
            tally.recipients.add(row.target_id)
        tally.recipients.update(int(r) for r in extra.get("recipients") or [])
    accounts = select(Selector.id, Selector.platform, Selector.display).where(
        Selector.kind == "username"
    )
    names = {row.id: AccountRef(row.platform, row.display) for row in session.execute(accounts)}
    seen_events = select(
        Event.actor_id, func.min(Event.occurred_at), func.max(Event.occurred_at)
    ).where(Event.actor_id.is_not(None))
    seen_sightings = select(
        Sighting.account_id, func.min(Sighting.seen_at), func.max(Sighting.seen_at)
    ).where(Sighting.account_id.is_not(None))
    if case_id is not None:
        seen_events = seen_events.where(Event.case_id == case_id)
        seen_sightings = seen_sightings.where(Sighting.case_id == case_id)
    for query, column in ((seen_events, Event.actor_id), (seen_sightings, Sighting.account_id)):
        for account_id, low, high in session.execute(query.group_by(column)):
            if account_id is not None and account_id in names:
                tallies[account_id].seen(low, high)
    account_rows = [
        _account_row(selector_id, names[selector_id], tally, names)
        for selector_id, tally in tallies.items()
        if selector_id in names
    ]
    account_rows.sort(key=lambda a: (-a.files_sent, a.platform.casefold(), a.username.casefold()))
    return DistributionReport(account_rows, _subjects(session, tallies, names))


def _refs(ids: set[int], names: dict[int, AccountRef]) -> list[AccountRef]:
    return sorted(
        (names[i] for i in ids if i in names),
        key=lambda a: (a.platform.casefold(), a.username.casefold()),
    )


def _account_row(
    selector_id: int, name: AccountRef, tally: _Tally, names: dict[int, AccountRef]
) -> AccountDistribution:
    return AccountDistribution(
        selector_id=selector_id,
        platform=name.platform,
        username=name.username,
        **Figures.of(tally, names),
    )


def _subjects(
    session: Session, tallies: dict[int, _Tally], names: dict[int, AccountRef]
) -> list[SubjectDistribution]:
    links = session.execute(
        select(Subject.id, Subject.label, Subject.role, SubjectSelector.selector_id)
        .join(SubjectSelector, SubjectSelector.subject_id == Subject.id)
        .order_by(Subject.id)
    )
    members: dict[int, tuple[str, str, set[int]]] = {}
    for subject_id, label, role, selector_id in links:
        if selector_id in names:
            members.setdefault(subject_id, (label, role, set()))[2].add(selector_id)
    rows = []
    for subject_id, (label, role, account_ids) in members.items():
        total = _Tally()
        for account_id in account_ids:
            if account_id in tallies:
                total.absorb(tallies[account_id])
        rows.append(
            SubjectDistribution(
                subject_id=subject_id,
                label=label,
                role=role,
                accounts=_refs(account_ids, names),
                **Figures.of(total, names),
            )
        )
    rows.sort(key=lambda s: (-s.files_sent, s.subject_id))
    return rows
