"""A referral's status as the people handling it report it: sent, acknowledged, actioned,
closed. Each change is a row in its status history, audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.models import Referral, ReferralStatus

REFERRAL_STATUSES = ("prepared", "sent", "acknowledged", "actioned", "closed")


def set_referral_status(
    session: Session, actor: Actor, referral: Referral, status: str, note: str | None = None
) -> bool:
    """Move ``referral`` (already found in the actor's reach) to ``status``; False if it is
    there already."""
    if status not in REFERRAL_STATUSES:
        raise UsageError(f"status must be one of {', '.join(REFERRAL_STATUSES)}: {status!r}")
    if referral.status == status:
        return False
    previous = referral.status
    referral.status = status
    session.add(
        ReferralStatus(referral_id=referral.id, status=status, user_id=actor.user_id, note=note)
    )
    session.flush()
    audit.append(
        session,
        actor,
        "referral.status",
        "referral",
        referral.id,
        {"from": previous, "to": status, "note": note},
    )
    return True
