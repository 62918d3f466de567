"""The audit log of the user's agency, and verifying the whole chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vigil.server.auth import allow, store_of
from vigil.server.params import MAX_ROW_ID
from vigil.server.policy import Permission
from vigil.server.scope import own_agency_audit
from vigil.store.db import Actor
from vigil.workflows.operation.audit import audit_entries, verify_audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
def audit_log(
    request: Request,
    after: int = Query(default=0, ge=0, le=MAX_ROW_ID),
    limit: int = Query(default=100, ge=1, le=1000),
    actor: Actor = Depends(allow(Permission.AUDIT)),
) -> list[dict[str, Any]]:
    """Entries after id ``after``, oldest first: page with the last id you received."""
    return audit_entries(store_of(request), own_agency_audit(actor), after_id=after, limit=limit)


@router.get("/verify")
def verify(request: Request, actor: Actor = Depends(allow(Permission.AUDIT))) -> dict[str, Any]:
    """`vigil audit verify`: walks the whole chain (all agencies share one chain)."""
    report = verify_audit(store_of(request))
    return {
        "ok": report.ok,
        "entries": report.chain.entries,
        "first_broken_id": report.chain.first_broken_id,
        "reason": report.chain.reason or report.anchors.problem,
        "checkpoints": report.anchors.checkpoints,
    }
