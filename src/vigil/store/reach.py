"""Reach: which cases, sources and subjects a user of an agency can see, as queries.

A user reaches their own agency's cases and the cases other agencies on the same store shared
with theirs; everything else derives from cases (docs/server.md "Agency scoping"). The server
answers within reach (``vigil.server.scope``), and so do the workflows whose output leaves the
agency: a referral package never names another agency's suspects.
"""

from __future__ import annotations

from sqlalchemy import CompoundSelect, Select, and_, or_, select, union

from vigil.store.db import Actor
from vigil.store.models import (
    Case,
    CaseShare,
    Event,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
)


def shared_case_ids(actor: Actor, access: tuple[str, ...] = ("read", "contribute")) -> Select:
    return select(CaseShare.case_id).where(
        CaseShare.agency_id == actor.agency_id, CaseShare.access.in_(access)
    )


def reachable_case_ids(actor: Actor) -> Select:
    return select(Case.id).where(
        or_(Case.agency_id == actor.agency_id, Case.id.in_(shared_case_ids(actor)))
    )


def sighting_in_reach(actor: Actor) -> object:
    return or_(
        Sighting.case_id.in_(reachable_case_ids(actor)),
        and_(Sighting.case_id.is_(None), Sighting.agency_id == actor.agency_id),
    )


def visible_subject_ids(actor: Actor) -> Select:
    """Subjects (not merged away) with a selector sighted within the actor's reach."""
    return (
        select(SubjectSelector.subject_id)
        .join(Sighting, Sighting.selector_id == SubjectSelector.selector_id)
        .join(Subject, Subject.id == SubjectSelector.subject_id)
        .where(sighting_in_reach(actor), Subject.status != "merged")  # type: ignore[arg-type]
        .distinct()
    )


def reachable_source_ids(actor: Actor) -> Select:
    return select(Source.id).where(
        or_(
            Source.case_id.in_(reachable_case_ids(actor)),
            and_(Source.case_id.is_(None), Source.agency_id == actor.agency_id),
        )
    )


def selectors_evidenced_in(sources: Select, subject_ids: list[int]) -> CompoundSelect:
    """The subjects' selectors that ``sources`` (a query of source ids) tie to them: their
    accounts, sighted or acting there (or the target of what was done there), and the
    selectors seen there on one of those accounts, or an address one of them used there.

    A selector merely present in those sources is not enough: the link between it and the
    subject (resolve's "seen on the account") may be another agency's finding."""
    theirs = select(SubjectSelector.selector_id).where(SubjectSelector.subject_id.in_(subject_ids))
    in_sources = Sighting.source_id.in_(sources)
    event_in_sources = Event.source_id.in_(sources)
    on_their_account = and_(in_sources, Sighting.account_id.in_(theirs))
    by_their_account = and_(event_in_sources, Event.actor_id.in_(theirs))
    return union(
        select(Sighting.account_id).where(on_their_account),
        select(Sighting.selector_id).where(on_their_account, Sighting.selector_id.in_(theirs)),
        select(Event.actor_id).where(by_their_account),
        select(Event.ip_id).where(by_their_account, Event.ip_id.in_(theirs)),
        select(Event.target_id).where(event_in_sources, Event.target_id.in_(theirs)),
    )
