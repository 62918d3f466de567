"""Checking the audit chain, signing its head, and where the signing key lives.

The key is the node's Ed25519 signing key (``vigil.federation.keys``), a file outside the
database, so someone who can rewrite the database cannot re-sign it. Its folder is, in order:
``--keys``, ``VIGIL_KEYS`` (read by the CLI), the federation node's recorded ``keys_dir``, else
``vigil-keys`` beside a SQLite database (for PostgreSQL the CLI must say where).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from vigil.errors import BadInput, UsageError
from vigil.federation.keys import SIGNING_FILE, create_keys, load_signer
from vigil.federation.signing import public_key_text
from vigil.store.audit import ChainReport, verify_chain
from vigil.store.db import Store
from vigil.store.models import Agency, FederationNode
from vigil.workflows.operation.audit_checkpoints import (
    AnchorReport,
    checkpoint,
    verify_checkpoints,
)
from vigil.workflows.operation.setup import resolve_actor

KEYS_FOLDER = "vigil-keys"


def key_directory(store: Store, explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    with store.reading() as session:
        recorded = session.scalars(select(FederationNode.keys_dir).limit(1)).first()
    if recorded:
        return Path(recorded)
    database = make_url(store.url).database if store.dialect == "sqlite" else None
    if not database or database == ":memory:":
        raise UsageError("say where the node's keys are: --keys DIR or VIGIL_KEYS")
    return Path(database).expanduser().resolve().parent / KEYS_FOLDER


def anchor_audit(store: Store, keys: Path | None = None) -> dict[str, Any]:
    """Sign the chain's head with the node key (made on first use) and record the checkpoint."""
    store.require_initialised()
    directory = key_directory(store, keys)
    with store.transaction() as session:
        actor = resolve_actor(session)
        agency = session.get_one(Agency, actor.agency_id).code
        if not (directory / SIGNING_FILE).exists():
            create_keys(directory)
        signer = load_signer(directory, agency)
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
    trusted = _trusted_key(store, keys)
    with store.reading() as session:
        chain = verify_chain(session)
        anchors = verify_checkpoints(session, trusted, anchor)
    return AuditReport(chain, anchors)


def _trusted_key(store: Store, keys: Path | None) -> str | None:
    """The node's public key, from the key file outside the database, if there is one."""
    try:
        directory = key_directory(store, keys)
    except UsageError:
        return None
    if not (directory / SIGNING_FILE).exists():
        return None
    return public_key_text(load_signer(directory, "").public_key)
