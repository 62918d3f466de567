"""Referrals of the user's agency (`vigil referrals --json`), their status as the people
handling them report it, and the outbox that carries them to peers."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vigil.server.auth import allow, store_of
from vigil.server.params import RowId
from vigil.server.policy import Permission
from vigil.server.scope import referral_in_reach
from vigil.store.db import Actor
from vigil.workflows.federation.exchange import list_outbox
from vigil.workflows.referral.refer import list_referrals, referral_json
from vigil.workflows.referral.status import REFERRAL_STATUSES, set_referral_status

router = APIRouter(prefix="/api", tags=["referrals"])


class ReferralStatusChange(BaseModel):
    status: str = Field(json_schema_extra={"enum": list(REFERRAL_STATUSES)})
    note: str | None = Field(default=None, max_length=1000)


@router.get("/referrals")
def referrals(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    found = list_referrals(store_of(request), agency_id=actor.agency_id)
    return [referral_json(r) for r in found]


@router.get("/outbox")
def outbox(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    """The agency's messages to peers, newest first: state `pending` (waiting for the peer to
    answer; `POST /api/outbox/deliver` tries again), `delivered` or `refused`."""
    return [dataclasses.asdict(row) for row in list_outbox(store_of(request), actor)]


@router.post("/referrals/{referral_id}/status")
def referral_status(
    referral_id: RowId,
    body: ReferralStatusChange,
    request: Request,
    actor: Actor = Depends(allow(Permission.REFER)),
) -> dict[str, Any]:
    """Record where a referral stands (sent, acknowledged, actioned, closed), with a note; each
    change is a row of its status history and an audit entry. ``changed`` is false when it
    was there already. The rest is the referral as `GET /api/referrals` gives it."""
    store = store_of(request)
    with store.transaction() as session:
        referral = referral_in_reach(session, actor, referral_id)
        changed = set_referral_status(session, actor, referral, body.status, body.note)
    row = next(r for r in list_referrals(store, agency_id=actor.agency_id) if r.id == referral_id)
    return {**referral_json(row), "changed": changed}
