"""Referrals of the user's agency (`vigil referrals --json`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.store.db import Actor
from vigil.workflows.referral.refer import list_referrals, referral_json

router = APIRouter(prefix="/api/referrals", tags=["referrals"])


@router.get("")
def referrals(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    found = list_referrals(store_of(request), agency_id=actor.agency_id)
    return [referral_json(r) for r in found]
