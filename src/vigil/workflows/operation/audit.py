"""Checking the audit chain and signing its head with the node key (``node_key``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import BadInput
from vigil.store.audit import ChainReport, verify_chain
from vigil.store.db import Store
from vigil.store.models import Agency
from vigil.workflows.operation.audit_checkpoints import (
    AnchorReport,
    checkpoint,
    verify_checkpoints,
)
from vigil.workflows.operation.node_key import node_signer, trusted_public_key
from vigil.workflows.operation.setup import resolve_actor


def anchor_audit(store: Store, keys: Path | None = None) -> dict[str, Any]:
    """Sign the chain's head with the node key (made on first use) and record the checkpoint."""
    store.require_initialised()
    with store.reading() as session:
        agency = session.get_one(Agency, resolve_actor(session).agency_id).code
    signer = node_signer(store, agency, keys)
    with store.transaction() as session:
        actor = resolve_actor(session)
        return checkpoint(session, actor, agency, signer.public_key, signer.sign)


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
    store.require_initialised()
    trusted = trusted_public_key(store, keys)
    with store.reading() as session:
        chain = verify_chain(session)
        anchors = verify_checkpoints(session, trusted, anchor)
    return AuditReport(chain, anchors)
