"""Keeping what is derived from the evidence current: subjects' countries and priorities.

Whatever changes their inputs calls ``refresh_subjects`` in its own transaction: ``resolve``
(and so every link decision, split and merge), an ingest or a triage that adds evidence once
subjects exist, a hash-set import that finds new matches. Countries are decided per subject
(only those named, when the caller knows which); the ranking runs only when its input
changed. Both read the evidence once, through ``read_activity``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.graph.model import NetworkResult
from vigil.store.db import Actor, Store
from vigil.store.models import Source, Subject
from vigil.workflows.network.countries import CountrySummary, place_subjects
from vigil.workflows.network.rank import store_priorities
from vigil.workflows.sources.activity import read_activity

NO_SUBJECTS_YET = "no subjects yet: run `vigil ingest` (or `vigil triage`) and then `vigil resolve`"


@dataclass(frozen=True)
class Refreshed:
    countries: CountrySummary
    network: NetworkResult | None
    """None when the network's input had not changed since the last ranking."""


NOTHING_INGESTED = (
    "nothing ingested yet: run `vigil ingest FORMAT PATH --case REF` or `vigil triage` first"
)


def has_subjects(session: Session) -> bool:
    return bool(session.scalar(select(func.count(Subject.id))))


def what_to_run_first(store: Store) -> str | None:
    """What a reader of subjects (``subjects``, ``network rank``, ``countries``, the report)
    is missing, in words for stderr; None when subjects exist."""
    store.require_initialised()
    with store.reading() as session:
        if has_subjects(session):
            return None
        if not session.scalar(select(func.count(Source.id)).where(Source.case_id.is_not(None))):
            return NOTHING_INGESTED
    return NO_SUBJECTS_YET


def refresh_subjects(
    session: Session, actor: Actor, *, subject_ids: set[int] | None = None
) -> Refreshed | None:
    """Place (every, or the named) subjects in their countries and re-rank if needed.

    Returns None when there are no subjects yet: nothing is derived before ``resolve``.
    """
    if not has_subjects(session):
        return None
    activity = read_activity(session)
    countries = place_subjects(session, actor, activity, subject_ids)
    return Refreshed(countries, store_priorities(session, actor, activity))


def refresh_store(store: Store, actor: Actor) -> Refreshed | None:
    """``refresh_subjects`` in a transaction of its own."""
    with store.transaction() as session:
        return refresh_subjects(session, actor)
