"""Recording what came of a referral: arrests, charges, convictions, sentences, children safe.

An outcome is recorded against the newest referral that contains the subject, and the
first outcome moves that referral to ``actioned`` in its status history. Recording the same
outcome (subject, kind, date) twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.store import audit
from vigil.store.constants import OUTCOME_KINDS
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Outcome,
    Referral,
    ReferralStatus,
    ReferralSubject,
    Subject,
    utcnow,
)
from vigil.workflows.federation.inbox import queue_outcome_report
from vigil.workflows.network.rank import find_subject

ACTIONED = "actioned"


@dataclass(frozen=True)
class OutcomeInfo:
    id: int
    subject_id: int
    kind: str
    date: str | None
    referral_id: int | None
    created: bool


@dataclass(frozen=True)
class OutcomeRow:
    subject_id: int
    label: str
    country: str | None
    kind: str
    date: str | None
    referral_id: int | None


def parse_outcome_date(text: str | None) -> datetime:
    if text is None:
        today = utcnow().date()
        return datetime(today.year, today.month, today.day, tzinfo=UTC)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(f"date must be YYYY-MM-DD: {text!r}") from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def subject_status(session: Session, subject_id: int, current: str) -> str:
    """What became of the subject: its furthest outcome (arrest < charge < conviction <
    sentence; safeguarded for a child), so ``vigil subjects`` shows where each one stands."""
    kinds = set(session.scalars(select(Outcome.kind).where(Outcome.subject_id == subject_id)))
    if not kinds or current == "merged":
        return current
    return max(kinds, key=OUTCOME_KINDS.index)


def record_outcome(
    store: Store, actor: Actor, subject_reference: str, kind: str, on: str | None = None
) -> OutcomeInfo:
    if kind not in OUTCOME_KINDS:
        raise UsageError(f"outcome must be one of {', '.join(OUTCOME_KINDS)}: {kind!r}")
    occurred = parse_outcome_date(on)
    store.require_initialised()
    with store.transaction() as session:
        subject = find_subject(session, subject_reference)
        referral = session.scalars(
            select(Referral)
            .join(ReferralSubject, ReferralSubject.referral_id == Referral.id)
            .where(ReferralSubject.subject_id == subject.id)
            .order_by(Referral.id.desc())
        ).first()
        existing = session.scalars(
            select(Outcome).where(
                Outcome.subject_id == subject.id,
                Outcome.kind == kind,
                Outcome.occurred_on == occurred,
            )
        ).first()
        if existing is not None:
            return OutcomeInfo(
                existing.id,
                subject.id,
                kind,
                occurred.date().isoformat(),
                existing.referral_id,
                False,
            )
        outcome = Outcome(
            subject_id=subject.id,
            referral_id=referral.id if referral else None,
            kind=kind,
            occurred_on=occurred,
            agency_id=actor.agency_id,
            recorded_by=actor.user_id,
        )
        session.add(outcome)
        session.flush()
        subject.status = subject_status(session, subject.id, subject.status)
        if referral is not None and referral.status != ACTIONED:
            referral.status = ACTIONED
            session.add(
                ReferralStatus(
                    referral_id=referral.id,
                    status=ACTIONED,
                    user_id=actor.user_id,
                    note=f"{kind} of subject {subject.id}",
                )
            )
        # A subject that came in a peer's referral: the outcome goes back to that peer.
        reports = queue_outcome_report(session, actor, subject.id, kind, occurred, outcome.id)
        audit.append(
            session,
            actor,
            "outcome.record",
            "outcome",
            outcome.id,
            {
                "subject_id": subject.id,
                "kind": kind,
                "date": occurred.date().isoformat(),
                "referral_id": outcome.referral_id,
                "reported_to_peers": reports,
            },
        )
        return OutcomeInfo(
            outcome.id, subject.id, kind, occurred.date().isoformat(), outcome.referral_id, True
        )


def list_outcomes(store: Store) -> list[OutcomeRow]:
    store.require_initialised()
    with store.reading() as session:
        rows = session.execute(
            select(Outcome, Subject)
            .join(Subject, Subject.id == Outcome.subject_id)
            .order_by(Outcome.occurred_on, Outcome.id)
        )
        return [
            OutcomeRow(
                subject_id=subject.id,
                label=subject.label,
                country=subject.country,
                kind=outcome.kind,
                date=outcome.occurred_on.date().isoformat() if outcome.occurred_on else None,
                referral_id=outcome.referral_id,
            )
            for outcome, subject in rows
        ]
