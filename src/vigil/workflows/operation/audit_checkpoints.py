"""Signed checkpoints over the audit chain, so that it proves itself.

A hash chain alone shows an edit in the middle, but not an edit followed by recomputing every
hash after it, nor a deleted tail. A checkpoint is the chain's head (last entry id, its hash,
the number of entries) signed with a key that lives outside the database (the node's signing
key, ``vigil.federation.keys``). It is written into the chain as an ``audit.checkpoint``
entry and handed to an auditor as an anchor file (``vigil audit anchor``). Verification then
checks, besides every link:

- every checkpoint in the chain: its signature, by the trusted key, and that the entry it
  names still has the hash it signed (a recomputed chain fails here);
- an anchor kept outside: its signature, that the entry it names is still there with that
  hash, and that the chain still holds at least as many entries (a deleted tail fails).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.federation.signing import b64, parse_public_key, public_key_text, verify_signature
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.models import AuditEntry

CHECKPOINT_ACTION = "audit.checkpoint"
SIGNED_FIELDS = ("agency", "head_id", "head_hash", "entries")

Sign = Callable[[bytes], bytes]


def signed_bytes(head: dict[str, Any]) -> bytes:
    return json.dumps({k: head[k] for k in SIGNED_FIELDS}, sort_keys=True).encode()


def checkpoint(
    session: Session, actor: Actor | None, agency: str, public_key: bytes, sign: Sign
) -> dict[str, Any]:
    """Sign the chain's current head and append it as a checkpoint; return the anchor."""
    audit.lock_chain(session)
    last = session.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    head_id: int = last[0] if last else 0
    head: dict[str, Any] = {
        "agency": agency,
        "head_id": head_id,
        "head_hash": last[1] if last else audit.GENESIS_HASH,
        "entries": entries,
    }
    anchor = {
        **head,
        "public_key": public_key_text(public_key),
        "signature": b64(sign(signed_bytes(head))),
    }
    entry = audit.append(session, actor, CHECKPOINT_ACTION, "audit", head_id, anchor)
    return {**anchor, "checkpoint_id": entry.id, "at": entry.at.isoformat()}


@dataclass(frozen=True)
class AnchorReport:
    checkpoints: int
    problem: str | None  # None: every checkpoint (and the anchor, if given) holds


def _check_head(session: Session, head: dict[str, Any], trusted: bytes, what: str) -> str | None:
    try:
        signature = base64.b64decode(str(head["signature"]), validate=True)
        if not verify_signature(trusted, signed_bytes(head), signature):
            return f"{what}: signature does not verify with the node's key"
        head_id, head_hash, entries = int(head["head_id"]), head["head_hash"], int(head["entries"])
    except (KeyError, ValueError, TypeError):
        return f"{what}: not a Vigil audit anchor"
    if head_id:
        found = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.id == head_id))
        if found is None:
            return f"{what}: entry {head_id} it signed is missing (the chain was cut)"
        if found != head_hash:
            return f"{what}: entry {head_id} no longer has the hash it signed (rewritten)"
    counted = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.id <= head_id)
    )
    if (counted or 0) != entries:
        return f"{what}: {entries} entries up to entry {head_id} were signed, {counted} remain"
    return None


def verify_checkpoints(
    session: Session, trusted_key: str | None, anchor: dict[str, Any] | None
) -> AnchorReport:
    """Check every checkpoint in the chain and the anchor; the first problem is reported."""
    trusted_text = trusted_key or (anchor or {}).get("public_key")
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.details)
        .where(AuditEntry.action == CHECKPOINT_ACTION)
        .order_by(AuditEntry.id)
    ).all()
    if trusted_text is None:
        if rows:
            return AnchorReport(len(rows), "no node key to check the signed checkpoints with")
        return AnchorReport(0, None)
    trusted = parse_public_key(str(trusted_text))
    if anchor is not None and anchor.get("public_key") != public_key_text(trusted):
        return AnchorReport(len(rows), "the anchor was not signed by this node's key")
    for entry_id, details in rows:
        problem = _check_head(session, json.loads(details), trusted, f"checkpoint {entry_id}")
        if problem:
            return AnchorReport(len(rows), problem)
    if anchor is not None:
        problem = _check_head(session, anchor, trusted, "anchor")
        if problem:
            return AnchorReport(len(rows), problem)
        kept = session.scalar(
            select(AuditEntry.details).where(
                AuditEntry.id == int(anchor.get("checkpoint_id", 0)),
                AuditEntry.action == CHECKPOINT_ACTION,
            )
        )
        if kept is None or json.loads(kept).get("signature") != anchor["signature"]:
            return AnchorReport(len(rows), "the anchor's checkpoint entry is missing (cut)")
    return AnchorReport(len(rows), None)
