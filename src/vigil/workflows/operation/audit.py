"""Checking the audit chain, signing its head with the node key (``node_key``), reading it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select

from vigil.errors import BadInput
from vigil.store.audit import ChainReport, verify_chain
from vigil.store.db import Actor, Store
from vigil.store.models import AuditEntry
from vigil.workflows.operation.audit_checkpoints import (
    AnchorReport,
    checkpoint,
    verify_checkpoints,
)
from vigil.workflows.operation.node_key import node_signer, trusted_public_key


def anchor_audit(store: Store, actor: Actor, keys: Path | None = None) -> dict[str, Any]:
    """Sign the chain's head with the node key (made on first use) and record the checkpoint."""
    store.require_initialised()
    signer = node_signer(store, actor.agency_code, keys)
    with store.transaction() as session:
        return checkpoint(session, actor, actor.agency_code, signer.public_key, signer.sign)


@dataclass(frozen=True)
class AuditReport:
    chain: ChainReport
    anchors: AnchorReport

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.anchors.problem is None


def read_anchor(path: Path) -> dict[str, Any]:
    try:
        anchor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"not a readable audit anchor: {exc}", source=str(path)) from exc
    if not isinstance(anchor, dict):
        raise BadInput("not a Vigil audit anchor", source=str(path))
    return anchor


def verify_audit(
    store: Store, anchor: dict[str, Any] | None = None, keys: Path | None = None
) -> AuditReport:
    """Every link of the chain, every signed checkpoint, and the anchor an auditor kept."""
    store.require_initialised()
    trusted = trusted_public_key(store, keys)
    with store.reading() as session:
        chain = verify_chain(session)
        anchors = verify_checkpoints(session, trusted, anchor)
    return AuditReport(chain, anchors)


def audit_head(store: Store) -> int:
    """The newest entry's id: it moves with every write, so derived reads can key on it."""
    with store.reading() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


NOT_EVIDENCE = (
    "auth.%",
    "media.%",
    "welfare.%",
    "user.%",
    "token.%",
    "job.%",
    "peer.%",
    "series.status",
    "referral.status",
)
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
