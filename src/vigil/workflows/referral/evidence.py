"""The evidence summary of a referral: files by hash, event counts and dates, sources.

Only what the referred subjects themselves did or held: events whose actor is one of their
accounts, files those events carried or their seized devices held, and every source those
facts (and the sightings of their selectors) came from, each with its SHA-256.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.graph.model import NetworkInput
from vigil.referral.model import EvidenceFile, EvidenceSource
from vigil.store.db import Actor
from vigil.store.models import Event, File, FileInstance, Sighting, Source, SubjectSelector
from vigil.store.reach import reachable_source_ids
from vigil.workflows.network.input import file_facts

CHUNK = 500


@dataclass(frozen=True)
class EvidenceSummary:
    files: list[EvidenceFile]
    event_counts: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    sources: list[EvidenceSource]


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def gather_evidence(
    session: Session, actor: Actor, data: NetworkInput, subject_ids: list[int]
) -> EvidenceSummary:
    """What the package says the subjects did: events, sightings and seized devices' files
    in sources within the agency's reach only (``store.reach``), and the series found there,
    so another agency's sources, holdings and series never appear in it."""
    reachable = reachable_source_ids(actor)
    wanted = set(subject_ids)
    owner = {a.id: a.subject_id for a in data.accounts if a.subject_id in wanted}
    selector_ids = sorted(
        set(
            session.scalars(
                select(SubjectSelector.selector_id).where(
                    SubjectSelector.subject_id.in_(subject_ids)
                )
            )
        )
    )
    counts: Counter[str] = Counter()
    first: datetime | None = None
    last: datetime | None = None
    source_ids: set[int] = set()
    file_subjects: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(sorted(owner)):
        events = select(Event).where(Event.actor_id.in_(chunk), Event.source_id.in_(reachable))
        for event in session.scalars(events):
            counts[event.kind] += 1
            source_ids.add(event.source_id)
            if event.occurred_at is not None:
                first = event.occurred_at if first is None else min(first, event.occurred_at)
                last = event.occurred_at if last is None else max(last, event.occurred_at)
            if event.file_id is not None and event.actor_id is not None:
                file_subjects[event.file_id].add(owner[event.actor_id])
    for chunk in _chunks(selector_ids):
        source_ids.update(
            session.scalars(
                select(Sighting.source_id).where(
                    Sighting.selector_id.in_(chunk), Sighting.source_id.in_(reachable)
                )
            )
        )
    held = sorted({h.file_id for h in data.holdings if h.subject_id in wanted})
    held_in_reach: set[int] = set()  # on a seized device in one of the reachable sources
    for chunk in _chunks(held):
        held_in_reach.update(
            session.scalars(
                select(FileInstance.file_id).where(
                    FileInstance.file_id.in_(chunk), FileInstance.source_id.in_(reachable)
                )
            )
        )
    for holding in data.holdings:
        if holding.subject_id in wanted and holding.file_id in held_in_reach:
            file_subjects[holding.file_id].add(holding.subject_id)
    facts = {f.id: f for f in file_facts(session, set(file_subjects), reachable)}
    files: list[EvidenceFile] = []
    for chunk in _chunks(sorted(file_subjects)):
        for row in session.scalars(select(File).where(File.id.in_(chunk))):
            fact = facts.get(row.id)
            status = (
                "known-alert" if fact and fact.alert else "new" if fact and fact.new else "other"
            )
            files.append(
                EvidenceFile(
                    sha256=row.sha256,
                    md5=row.md5,
                    sha1=row.sha1,
                    size_bytes=row.size_bytes,
                    category=fact.category if fact else None,
                    status=status,
                    series=fact.series if fact else None,
                    subjects=sorted(file_subjects[row.id]),
                )
            )
    files.sort(
        key=lambda f: (f.status != "known-alert", f.status != "new", f.sha256 or f.md5 or "")
    )
    sources = [
        EvidenceSource(id=s.id, kind=s.kind, name=s.original_name, sha256=s.sha256)
        for chunk in _chunks(sorted(source_ids))
        for s in session.scalars(select(Source).where(Source.id.in_(chunk)).order_by(Source.id))
    ]
    return EvidenceSummary(files, dict(sorted(counts.items())), first, last, sources)
