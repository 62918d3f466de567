"""Agency scoping: which cases, subjects, files, referrals and audit entries a user can reach.

A user reaches their own agency's cases and the cases other agencies on this server shared
with theirs. Everything else derives from cases: a subject is in reach when one of its
selectors was sighted in a reachable case (or in their agency's case-less sources), a file
when an instance of it sits in a reachable source. Out of reach answers 404, exactly as
missing, so a user cannot even learn that another agency holds something.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from vigil.errors import Forbidden, NotFound
from vigil.store.db import Actor
from vigil.store.models import (
    AuditEntry,
    Case,
    CaseShare,
    Event,
    File,
    FileInstance,
    Referral,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
    User,
)


def shared_case_ids(actor: Actor, access: tuple[str, ...] = ("read", "contribute")) -> Select:
    return select(CaseShare.case_id).where(
        CaseShare.agency_id == actor.agency_id, CaseShare.access.in_(access)
    )


def reachable_case_ids(actor: Actor) -> Select:
    return select(Case.id).where(
        or_(Case.agency_id == actor.agency_id, Case.id.in_(shared_case_ids(actor)))
    )


def case_in_reach(session: Session, actor: Actor, reference: str, *, write: bool = False) -> Case:
    """Own case by reference first, then one shared with the actor's agency.

    ``write``: the case must be the agency's own or shared to contribute.
    """
    own = session.scalars(
        select(Case).where(Case.agency_id == actor.agency_id, Case.reference == reference)
    ).first()
    if own is not None:
        return own
    shared = session.execute(
        select(Case, CaseShare.access)
        .join(CaseShare, CaseShare.case_id == Case.id)
        .where(CaseShare.agency_id == actor.agency_id, Case.reference == reference)
        .order_by(Case.id)
    ).first()
    if shared is None:
        raise NotFound(f"no case {reference!r}")
    case, access = shared
    if write and access != "contribute":
        raise Forbidden(f"case {reference!r} is shared with your agency read-only")
    return case


def _sighting_in_reach(actor: Actor) -> object:
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
        .where(_sighting_in_reach(actor), Subject.status != "merged")  # type: ignore[arg-type]
        .distinct()
    )


def reachable_source_ids(actor: Actor) -> Select:
    return select(Source.id).where(
        or_(
            Source.case_id.in_(reachable_case_ids(actor)),
            and_(Source.case_id.is_(None), Source.agency_id == actor.agency_id),
        )
    )


def visible_subjects(session: Session, actor: Actor) -> set[int]:
    return set(session.scalars(visible_subject_ids(actor)))


def file_in_reach(session: Session, actor: Actor, sha256: str) -> File:
    file = session.scalars(select(File).where(File.sha256 == sha256.lower())).first()
    if file is None:
        raise NotFound(f"no file {sha256}")
    held = session.scalar(
        select(FileInstance.id)
        .where(
            FileInstance.file_id == file.id, FileInstance.source_id.in_(reachable_source_ids(actor))
        )
        .limit(1)
    )
    sent = session.scalar(
        select(Event.id)
        .where(Event.file_id == file.id, Event.source_id.in_(reachable_source_ids(actor)))
        .limit(1)
    )
    if held is None and sent is None:
        raise NotFound(f"no file {sha256}")
    return file


def own_referral_ids(actor: Actor) -> Select:
    return select(Referral.id).where(Referral.agency_id == actor.agency_id)


def own_agency_audit(actor: Actor) -> Select:
    """Audit entries written by the agency's own users (the audit log is per agency)."""
    return select(AuditEntry).where(
        AuditEntry.user_id.in_(select(User.id).where(User.agency_id == actor.agency_id))
    )


def account_in_reach(session: Session, actor: Actor, text: str) -> int:
    """An account (``platform:username``) sighted in the user's reach; its selector id."""
    from vigil.workflows.identity.decisions import find_account

    selector = find_account(session, text)
    seen = session.scalar(
        select(Sighting.id)
        .where(
            or_(Sighting.selector_id == selector.id, Sighting.account_id == selector.id),
            _sighting_in_reach(actor),  # type: ignore[arg-type]
        )
        .limit(1)
    )
    if seen is None:
        raise NotFound(f"no account {text!r}")
    return selector.id


def accounts_in_reach(session: Session, actor: Actor, selector_ids: Iterable[int]) -> set[int]:
    """Those of ``selector_ids`` (accounts) sighted in the user's reach."""
    wanted = set(selector_ids)
    if not wanted:
        return set()
    reach = _sighting_in_reach(actor)
    found = set(
        session.scalars(
            select(Sighting.selector_id)
            .where(Sighting.selector_id.in_(wanted), reach)  # type: ignore[arg-type]
            .distinct()
        )
    )
    found |= {
        account
        for account in session.scalars(
            select(Sighting.account_id)
            .where(Sighting.account_id.in_(wanted), reach)  # type: ignore[arg-type]
            .distinct()
        )
        if account is not None
    }
    return found
