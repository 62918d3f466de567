"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting
or reordering any row breaks every hash after it. ``verify_chain`` names the first entry
that no longer verifies. Appends are serialised (an advisory lock on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite) so that concurrent writers cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vigil.store.db import Actor
from vigil.store.models import AuditEntry, utcnow

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x76696769  # "vigi": any constant shared by all Vigil writers


def _canonical(entry: AuditEntry) -> bytes:
    fields = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "user_id": entry.user_id,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def lock_chain(session: Session) -> None:
    """Serialise writers of the chain for the rest of this transaction (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})


def append(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction, so the fact and its audit commit together."""
    lock_chain(session)
    last = session.scalars(
        select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    entry = AuditEntry(
        at=utcnow(),
        user_id=actor.user_id if actor else None,
        actor=actor.label if actor else "system",
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=json.dumps(details or {}, sort_keys=True, default=str),
        prev_hash=last or GENESIS_HASH,
    )
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def last_details(session: Session, action: str) -> dict[str, Any]:
    """The details of the latest entry for ``action`` (empty if none): what an earlier run
    recorded about itself, for a later run to start from."""
    details = session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    try:
        value = json.loads(details) if details else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def verify_chain(session: Session, batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain in id order; stop at the first entry that does not verify."""
    previous = GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return ChainReport(entries=count, first_broken_id=None, reason=None)
        for entry in rows:
            if entry.prev_hash != previous:
                return ChainReport(count, entry.id, "does not follow the previous entry")
            if entry_hash(entry) != entry.entry_hash:
                return ChainReport(count, entry.id, "its contents were changed")
            previous = entry.entry_hash
            count += 1
            last_id = entry.id
        session.expunge_all()
