"""Registering evidence: every fact in Vigil points back to a Source with its SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vigil.errors import BadInput
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.locks import lock_number
from vigil.store.models import Source

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Digest:
    sha256: str
    size_bytes: int


def digest_file(path: Path) -> Digest:
    """SHA-256 and size of a file, read in chunks; an unreadable file is bad input."""
    sha = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                sha.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return Digest(sha.hexdigest(), size)


def digest_bytes(data: bytes) -> Digest:
    return Digest(hashlib.sha256(data).hexdigest(), len(data))


@dataclass(frozen=True)
class SourceRef:
    id: int
    sha256: str
    created: bool


def register_source(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    original_name: str,
    digest: Digest,
    case_id: int | None,
    extra: dict[str, Any] | None = None,
    exhibit: str = "",
) -> SourceRef:
    """Record a source; the same bytes in the same case (and exhibit) return the existing one.

    Concurrent registrations of one source are serialised, so the second writer finds the
    first one's row instead of failing on the unique constraint.
    """
    serialise_source(session, case_id, exhibit or digest.sha256)
    existing = session.scalars(
        select(Source).where(
            Source.sha256 == digest.sha256, Source.case_id == case_id, Source.exhibit == exhibit
        )
    ).first()
    if existing is not None:
        return SourceRef(existing.id, existing.sha256, False)
    source = Source(
        kind=kind,
        original_name=original_name,
        sha256=digest.sha256,
        size_bytes=digest.size_bytes,
        case_id=case_id,
        agency_id=actor.agency_id,
        user_id=actor.user_id,
        extra=extra,
        exhibit=exhibit,
    )
    session.add(source)
    session.flush()
    audit.append(
        session,
        actor,
        "source.register",
        "source",
        source.id,
        {
            "kind": kind,
            "name": original_name,
            "sha256": digest.sha256,
            "size_bytes": digest.size_bytes,
            "case_id": case_id,
            **({"exhibit": exhibit} if exhibit else {}),
        },
    )
    return SourceRef(source.id, source.sha256, True)


def serialise_source(session: Session, case_id: int | None, key: str) -> None:
    """Hold one source's registration for the rest of this transaction.

    SQLite's ``BEGIN IMMEDIATE`` already serialises writers; PostgreSQL takes a transaction
    advisory lock on the source's key, so two processes registering the same document or
    exhibit queue, and the second one finds the first one's row.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock = lock_number(f"register:{case_id}:{key}")
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
