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
MAX_STORED_WARNINGS = 100
SHOWN_WARNINGS = 5  # of a source's warnings, where one is shown: after ingest, with its case


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


def warnings_extra(warnings: list[str], dirty_values: int = 0) -> dict[str, Any]:
    """What a Source keeps of its warnings (in ``Source.extra``): the first
    ``MAX_STORED_WARNINGS``, their count, and how many were dirty values kept verbatim."""
    kept: dict[str, Any] = {}
    if warnings:
        kept = {"warnings": warnings[:MAX_STORED_WARNINGS], "warning_count": len(warnings)}
    if dirty_values:  # each on its record's sighting, flagged (docs/reliability.md)
        kept["dirty_value_count"] = dirty_values
    return kept


def source_warnings(source: Source) -> dict[str, Any]:
    """What ingest warned about a source, as its case shows it (``warnings_extra`` read back):
    how many warnings, how many of them dirty values, and the first few."""
    extra = source.extra or {}
    return {
        "warning_count": extra.get("warning_count", 0),
        "dirty_value_count": extra.get("dirty_value_count", 0),
        "first_warnings": extra.get("warnings", [])[:SHOWN_WARNINGS],
    }
