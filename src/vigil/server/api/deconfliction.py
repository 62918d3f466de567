"""Deconfliction hits of the user's agency (`vigil deconfliction hits --json`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.store.db import Actor
from vigil.workflows.federation.deconflict import hit_json, list_hits

router = APIRouter(prefix="/api/deconfliction", tags=["deconfliction"])


@router.get("/hits")
def hits(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, object]]:
    return [hit_json(h) for h in list_hits(store_of(request), actor)]
