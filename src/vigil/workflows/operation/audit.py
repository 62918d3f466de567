"""Checking the audit chain."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, func, select

from vigil.store.audit import ChainReport, verify_chain
from vigil.store.db import Store
from vigil.store.models import AuditEntry


def verify_audit(store: Store) -> ChainReport:
    store.require_initialised()
    with store.reading() as session:
        return verify_chain(session)


def audit_head(store: Store) -> int:
    """The newest entry's id: it moves with every write, so derived reads can key on it."""
    with store.reading() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


NOT_EVIDENCE = ("auth.%", "media.%", "welfare.%", "user.%", "token.%", "job.%")
"""Audit actions that change nothing a ranking, a graph or a subject is derived from."""


def evidence_head(store: Store) -> int:
    """The newest entry that could change the evidence: derived views key on it, because
    sign-ins, reveals and account changes are written all day and change none of them."""
    condition = [AuditEntry.action.not_like(pattern) for pattern in NOT_EVIDENCE]
    with store.reading() as session:
        return session.scalar(select(func.max(AuditEntry.id)).where(*condition)) or 0


def audit_entries(
    store: Store, entries: Select, *, after_id: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Entries of ``entries`` (a query the caller scoped) in chain order, ``limit`` at a time."""
    store.require_initialised()
    with store.reading() as session:
        rows = session.scalars(
            entries.where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(limit)
        ).all()
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "details": json.loads(e.details),
                "prev_hash": e.prev_hash,
                "entry_hash": e.entry_hash,
            }
            for e in rows
        ]
