"""The smaller pages: the operation at a glance, cases and their sources, series, referrals
and the audit log, each limited to the acting user's agency."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from vigil.errors import NotFound
from vigil.server.scope import case_in_reach, own_agency_audit, referral_in_reach
from vigil.server.web.queries.files import FILTERS
from vigil.server.web.queries.listing import Page, paginate
from vigil.server.web.queries.scope import (
    file_visible,
    reachable_case_ids,
    reachable_source_ids,
    subject_visible,
)
from vigil.store.db import Actor
from vigil.store.models import (
    AuditEntry,
    Case,
    DeconflictionHit,
    File,
    Outcome,
    Peer,
    Referral,
    ReferralStatus,
    ReferralSubject,
    Series,
    SeriesFile,
    Source,
    Subject,
    User,
)
from vigil.workflows.sources.provenance import source_warnings

LATEST = 8


def overview(session: Session, actor: Actor) -> dict[str, Any]:
    def count(query: Any) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    visible_files = select(File.id).where(file_visible(actor, File.id))
    counts = {
        "cases": count(reachable_case_ids(actor)),
        "sources": count(reachable_source_ids(actor)),
        "files": count(visible_files),
        "known_alert": count(visible_files.where(FILTERS["alert"])),
        "new": count(visible_files.where(FILTERS["new"])),
        "series": count(select(Series.id).where(Series.case_id.in_(reachable_case_ids(actor)))),
        "suspects": count(
            select(Subject.id).where(
                Subject.role == "suspect",
                Subject.status != "merged",
                subject_visible(actor, Subject.id),
            )
        ),
        "referrals": count(select(Referral.id).where(Referral.agency_id == actor.agency_id)),
        "outcomes": count(select(Outcome.id).where(Outcome.agency_id == actor.agency_id)),
    }
    outcomes = session.execute(
        select(Outcome, Subject.label)
        .join(Subject, Subject.id == Outcome.subject_id)
        .where(Outcome.agency_id == actor.agency_id)
        .order_by(Outcome.recorded_at.desc())
        .limit(LATEST)
    ).all()
    top = session.execute(
        select(Subject.id, Subject.label, Subject.country, Subject.priority)
        .where(Subject.status != "merged", subject_visible(actor, Subject.id))
        .order_by(Subject.priority.desc().nulls_last(), Subject.id)
        .limit(LATEST)
    ).all()
    hits = session.execute(
        select(DeconflictionHit, Peer.code)
        .join(Peer, Peer.id == DeconflictionHit.peer_id)
        .where(DeconflictionHit.agency_id == actor.agency_id)
        .order_by(DeconflictionHit.first_seen.desc())
        .limit(LATEST)
    ).all()
    return {"counts": counts, "outcomes": outcomes, "top": top, "hits": hits}


def list_cases(session: Session, actor: Actor) -> list[Any]:
    sources = select(func.count(Source.id)).where(Source.case_id == Case.id).scalar_subquery()
    return list(
        session.execute(
            select(Case, sources.label("sources"), User.username)
            .outerjoin(User, User.id == Case.lead_user_id)
            .where(Case.id.in_(reachable_case_ids(actor)))
            .order_by(Case.created_at.desc())
        ).all()
    )


def case_detail(session: Session, actor: Actor, reference: str, page: int) -> dict[str, Any]:
    """A case and one page of its sources, newest first: a national centre's case holds
    thousands of provider-report files. Each source comes with what its ingest warned."""
    case = case_in_reach(session, actor, reference)
    newest_first: Select = (
        select(Source, User.username)
        .join(User, User.id == Source.user_id)
        .where(Source.case_id == case.id)
        .order_by(Source.ingested_at.desc(), Source.id.desc())
    )
    sources = paginate(session, newest_first, page)
    sources.rows = [(source, user, source_warnings(source)) for source, user in sources.rows]
    return {"case": case, "sources": sources}


def list_series(session: Session, actor: Actor) -> list[Any]:
    files = (
        select(func.count(SeriesFile.id)).where(SeriesFile.series_id == Series.id)
    ).scalar_subquery()
    return list(
        session.execute(
            select(Series, files.label("files"), Case.reference)
            .join(Case, Case.id == Series.case_id)
            .where(Case.id.in_(reachable_case_ids(actor)))
            .order_by(Series.id)
        ).all()
    )


def list_referral_rows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    referrals = session.scalars(
        select(Referral).where(Referral.agency_id == actor.agency_id).order_by(Referral.id)
    ).all()
    members: dict[int, int] = dict(
        session.execute(
            select(ReferralSubject.referral_id, func.count(ReferralSubject.id)).group_by(
                ReferralSubject.referral_id
            )
        ).all()
    )
    outcomes: dict[int, int] = {
        referral_id: count
        for referral_id, count in session.execute(
            select(Outcome.referral_id, func.count(Outcome.id))
            .where(Outcome.referral_id.is_not(None))
            .group_by(Outcome.referral_id)
        )
        if referral_id is not None
    }
    return [
        {"referral": r, "subjects": members.get(r.id, 0), "outcomes": outcomes.get(r.id, 0)}
        for r in referrals
    ]


def audit_page(session: Session, actor: Actor, page: int) -> Page:
    """The agency's own entries, newest first."""
    query = own_agency_audit(actor).order_by(AuditEntry.id.desc())
    return paginate(session, query, page)


def referral_detail(session: Session, actor: Actor, referral_id: int) -> dict[str, Any]:
    """One referral: the subjects it names with the outcomes recorded for each, and its
    status history (who moved it, when, with what note)."""
    referral = referral_in_reach(session, actor, referral_id)
    subjects = session.scalars(
        select(Subject)
        .join(ReferralSubject, ReferralSubject.subject_id == Subject.id)
        .where(ReferralSubject.referral_id == referral.id)
        .order_by(Subject.priority.desc().nulls_last(), Subject.id)
    ).all()
    outcomes: dict[int, list[Outcome]] = {}
    for outcome in session.scalars(
        select(Outcome)
        .where(Outcome.subject_id.in_([s.id for s in subjects]))
        .order_by(Outcome.occurred_on, Outcome.id)
    ):
        outcomes.setdefault(outcome.subject_id, []).append(outcome)
    history = session.execute(
        select(ReferralStatus, User.username)
        .outerjoin(User, User.id == ReferralStatus.user_id)
        .where(ReferralStatus.referral_id == referral.id)
        .order_by(ReferralStatus.at, ReferralStatus.id)
    ).all()
    return {
        "referral": referral,
        "subjects": [{"subject": s, "outcomes": outcomes.get(s.id, [])} for s in subjects],
        "history": [{"entry": entry, "by": username} for entry, username in history],
    }


def subject_in_referral(session: Session, actor: Actor, referral_id: int, subject_id: int) -> None:
    """Refuse (404) a subject the referral does not name."""
    referral_in_reach(session, actor, referral_id)
    named = session.scalar(
        select(ReferralSubject.id).where(
            ReferralSubject.referral_id == referral_id, ReferralSubject.subject_id == subject_id
        )
    )
    if named is None:
        raise NotFound(f"referral {referral_id} does not name subject {subject_id}")
