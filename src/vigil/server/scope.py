"""Agency scoping: which cases, subjects, files, referrals and audit entries a user can reach.

A user reaches their own agency's cases and the cases other agencies on this server shared
with theirs. Everything else derives from cases: a subject is in reach when one of its
selectors was sighted in a reachable case (or in their agency's case-less sources), a file
when an instance of it sits in a reachable source or a report or message there names it. Out
of reach answers 404, exactly as missing, so a user cannot even learn that another agency
holds something.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, exists, or_, select
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
    Series,
    Sighting,
    User,
)
from vigil.store.reach import (
    reachable_case_ids,
    reachable_source_ids,
    shared_case_ids,
    sighting_in_reach,
    visible_subject_ids,
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


def visible_subjects(session: Session, actor: Actor) -> set[int]:
    return set(session.scalars(visible_subject_ids(actor)))


def file_visible(actor: Actor, file_id_column: Any) -> Any:
    """A file is in reach when it was found on a device in a reachable source, or named by a
    report or message there (what a subject sent or received), so both open a file page."""
    sources = reachable_source_ids(actor)
    return or_(
        exists(
            select(FileInstance.id).where(
                FileInstance.file_id == file_id_column, FileInstance.source_id.in_(sources)
            )
        ),
        exists(
            select(Event.id).where(Event.file_id == file_id_column, Event.source_id.in_(sources))
        ),
    )


def file_in_reach(session: Session, actor: Actor, sha256: str) -> File:
    file = session.scalars(
        select(File).where(File.sha256 == sha256.lower(), file_visible(actor, File.id))
    ).first()
    if file is None:
        raise NotFound(f"no file {sha256}")
    return file


def own_referral_ids(actor: Actor) -> Select:
    return select(Referral.id).where(Referral.agency_id == actor.agency_id)


def referral_in_reach(session: Session, actor: Actor, referral_id: int) -> Referral:
    """A referral of the actor's own agency (referrals are never shared)."""
    referral = session.get(Referral, referral_id)
    if referral is None or referral.agency_id != actor.agency_id:
        raise NotFound(f"no referral {referral_id}")
    return referral


def series_in_reach(
    session: Session, actor: Actor, series_id: int, *, write: bool = False
) -> Series:
    """A series of a reachable case; ``write``: of the agency's own case or one shared with it
    to contribute (as new evidence needs)."""
    series = session.get(Series, series_id)
    if series is None or series.case_id is None:
        raise NotFound(f"no series {series_id}")
    reachable = session.scalar(reachable_case_ids(actor).where(Case.id == series.case_id).limit(1))
    if reachable is None:
        raise NotFound(f"no series {series_id}")
    writable = session.scalar(
        select(Case.id)
        .where(
            Case.id == series.case_id,
            or_(
                Case.agency_id == actor.agency_id,
                Case.id.in_(shared_case_ids(actor, ("contribute",))),
            ),
        )
        .limit(1)
    )
    if write and writable is None:
        raise Forbidden(f"series {series_id} is in a case shared with your agency read-only")
    return series


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
            sighting_in_reach(actor),  # type: ignore[arg-type]
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
    reach = sighting_in_reach(actor)
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
