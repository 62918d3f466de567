"""Importing, exporting and listing hash sets.

An import is one transaction: the file is registered as a Source, its records stream into
HashEntry rows in batches, and the HashSet row is written last. A bad record anywhere raises
``BadInput`` naming file and line, and the rollback leaves nothing behind: no entries, no set,
and on a re-import the old entries intact. Re-importing a name replaces that set's entries;
importing the very same file again with the same settings changes nothing. An import with
``append`` adds the file's entries to the set instead (an exchange's daily delta): the set keeps
its entries, kind and radius, the new entries get ids above all of the set's earlier ones, and
the match index indexes just them as one more segment (``docs/benchmarks.md``, PDQ matching);
appending the same file to the same set again changes nothing.

The import itself streams (a million-entry VICS file imports in well under 500 MB). After it
commits, the files already in the store are matched against every set, so a hash set that
arrives after triage or ingest still flags them; a store without files builds no index. The
set's fingerprint changes with the import, so the cached index appends only this set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from vigil.errors import BadInput, NotFound, UsageError
from vigil.formats.hashrecord import HashRecord, HashSetFormat
from vigil.formats.registry import HASHSET_FORMATS
from vigil.matching import DEFAULT_PDQ_RADIUS_BITS
from vigil.matching.matcher import MAX_RADIUS_BITS
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import HashEntry, HashSet, Source, utcnow
from vigil.workflows.media.matching import index_directory, load_matcher, match_stored_files
from vigil.workflows.sources.provenance import Digest, digest_file, register_source

INSERT_BATCH = 5_000
P = ParamSpec("P")
SET_KINDS = ("alert", "ignorable")
TEXT_LIMITS = {"media_id": 100, "category": 50, "series": 200}
ENTRY_FIELDS = (
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "photodna",
    "media_id",
    "category",
    "series",
    "victim_identified",
    "offender_identified",
    "distributed",
    "size_bytes",
)


@dataclass(frozen=True)
class ImportResult:
    hash_set_id: int
    name: str
    kind: str
    format: str
    entries: int
    replaced: bool
    unchanged: bool
    source_id: int
    appended: int = 0


@dataclass(frozen=True)
class HashSetSummary:
    id: int
    name: str
    kind: str
    format: str
    entries: int
    pdq_radius_bits: int
    imported_at: datetime
    source_sha256: str | None


def hash_set_format(name: str) -> HashSetFormat:
    return cast(HashSetFormat, cast(Callable[[], object], HASHSET_FORMATS.get(name))())


def _then_match_stored_files(
    importer: Callable[Concatenate[Store, Actor, P], ImportResult],
) -> Callable[Concatenate[Store, Actor, P], ImportResult]:
    """After an import commits, match the files already in the store against it: a hash set
    that arrives after triage or ingest must still flag them. An unchanged re-import does
    nothing."""

    @functools.wraps(importer)
    def import_then_match(
        store: Store, actor: Actor, *args: P.args, **kwargs: P.kwargs
    ) -> ImportResult:
        imported = importer(store, actor, *args, **kwargs)
        if not imported.unchanged:
            match_stored_files(store, actor)
        return imported

    return import_then_match


@_then_match_stored_files
def import_hash_set(
    store: Store,
    actor: Actor,
    format_name: str,
    path: Path,
    *,
    name: str,
    kind: str | None = None,
    pdq_radius_bits: int | None = None,
    hash_type: str | None = None,
    progress: Callable[[int], None] | None = None,
    append: bool = False,
) -> ImportResult:
    """Import (or replace, or with ``append`` add to) the hash set ``name`` from ``path``;
    all or nothing; then the stored files are matched against it."""
    reader = hash_set_format(format_name)
    set_kind = _choose_kind(reader, kind)
    radius = DEFAULT_PDQ_RADIUS_BITS if pdq_radius_bits is None else pdq_radius_bits
    if not 0 <= radius <= MAX_RADIUS_BITS:
        raise UsageError(f"--pdq-radius must be 0..{MAX_RADIUS_BITS} bits")
    if not name.strip():
        raise UsageError("a hash set needs a --name")
    if hash_type is not None and format_name != "list":
        raise UsageError("--hash-type applies to the list format only")
    store.require_initialised()
    path = Path(path)
    if not path.is_file():
        raise BadInput("no such file", source=str(path))
    digest = digest_file(path)
    records = reader.read(path, hash_type=hash_type)  # "not my format" fails here, early
    with store.transaction() as session:
        # locked: appends to one set commit in the order their entry ids were drawn
        existing = session.scalars(
            select(HashSet).where(HashSet.name == name).with_for_update()
        ).first()
        if append and existing is not None:
            return _append(
                session,
                actor,
                existing,
                records,
                digest,
                format_name,
                str(path),
                kind=kind,
                radius=pdq_radius_bits,
                progress=progress,
            )
        if existing is not None and _same_import(
            session, existing, digest.sha256, format_name, set_kind, radius
        ):
            return _result(existing, replaced=False, unchanged=True)
        source = register_source(
            session,
            actor,
            kind=f"hashset:{format_name}",
            original_name=str(path),
            digest=digest,
            case_id=None,
            extra={"hash_set": name, "hash_type": hash_type} if hash_type else {"hash_set": name},
        )
        hash_set = existing or HashSet(name=name)
        hash_set.kind, hash_set.format, hash_set.pdq_radius_bits = set_kind, format_name, radius
        hash_set.source_id, hash_set.imported_at = source.id, utcnow()
        hash_set.entry_count = 0
        if existing is None:
            session.add(hash_set)
        session.flush()
        if existing is not None:
            session.execute(delete(HashEntry).where(HashEntry.hash_set_id == hash_set.id))
        count = _insert_entries(session, hash_set.id, records, progress)
        hash_set.entry_count = count
        audit.append(
            session,
            actor,
            "hashset.replace" if existing else "hashset.import",
            "hash_set",
            hash_set.id,
            {
                "name": name,
                "format": format_name,
                "kind": set_kind,
                "entries": count,
                "pdq_radius_bits": radius,
                "source_id": source.id,
                "sha256": digest.sha256,
            },
        )
        return _result(hash_set, replaced=existing is not None, unchanged=False)


def _append(
    session: Session,
    actor: Actor,
    hash_set: HashSet,
    records: Iterator[HashRecord],
    digest: Digest,
    format_name: str,
    original_name: str,
    *,
    kind: str | None,
    radius: int | None,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    if kind not in (None, hash_set.kind) or radius not in (None, hash_set.pdq_radius_bits):
        raise UsageError(
            f"--append adds to {hash_set.name!r} as it is ({hash_set.kind}, PDQ radius "
            f"{hash_set.pdq_radius_bits}); import without --append to change its settings"
        )
    already = session.scalars(
        select(Source).where(Source.sha256 == digest.sha256, Source.case_id.is_(None))
    ).first()
    if already is not None and (already.extra or {}).get("hash_set") == hash_set.name:
        return _result(hash_set, replaced=False, unchanged=True)  # this file is in the set
    source = register_source(
        session,
        actor,
        kind=f"hashset:{format_name}",
        original_name=original_name,
        digest=digest,
        case_id=None,
        extra={"hash_set": hash_set.name, "append": True},
    )
    count = _insert_entries(session, hash_set.id, records, progress)
    hash_set.entry_count += count
    audit.append(
        session,
        actor,
        "hashset.append",
        "hash_set",
        hash_set.id,
        {
            "name": hash_set.name,
            "format": format_name,
            "entries": count,
            "source_id": source.id,
            "sha256": digest.sha256,
        },
    )
    return replace(_result(hash_set, replaced=False, unchanged=False), appended=count)


@dataclass(frozen=True)
class IndexStatus:
    entries: int
    hash_sets: int
    directory: str | None


def refresh_index(store: Store) -> IndexStatus:
    """Bring the cached match index up to date now rather than at the next triage."""
    store.require_initialised()
    matcher = load_matcher(store)
    directory = index_directory(store.engine.url)
    return IndexStatus(len(matcher), len(matcher.sets), str(directory) if directory else None)


def _choose_kind(reader: HashSetFormat, kind: str | None) -> str:
    if kind is not None and kind not in SET_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(SET_KINDS)}")
    if reader.forced_kind and kind not in (None, reader.forced_kind):
        raise UsageError(
            f"{reader.name} sets are known-good: their kind is always {reader.forced_kind}"
        )
    return reader.forced_kind or kind or reader.default_kind


def _same_import(
    session: Session, hash_set: HashSet, sha256: str, format_name: str, kind: str, radius: int
) -> bool:
    source_sha = session.scalar(select(Source.sha256).where(Source.id == hash_set.source_id))
    return (sha256, format_name, kind, radius) == (
        source_sha,
        hash_set.format,
        hash_set.kind,
        hash_set.pdq_radius_bits,
    )


def _result(hash_set: HashSet, *, replaced: bool, unchanged: bool) -> ImportResult:
    return ImportResult(
        hash_set.id,
        hash_set.name,
        hash_set.kind,
        hash_set.format,
        hash_set.entry_count,
        replaced,
        unchanged,
        hash_set.source_id or 0,
    )


def _entry_row(hash_set_id: int, record: HashRecord) -> dict[str, Any]:
    row: dict[str, Any] = {"hash_set_id": hash_set_id}
    for field in ENTRY_FIELDS:
        row[field] = getattr(record, field)
    for field, limit in TEXT_LIMITS.items():
        if row[field] is not None and len(row[field]) > limit:
            raise BadInput(f"{field} longer than {limit} characters", location=record.location)
    extra = dict(record.extra)
    if record.file_name is not None:
        extra["file_name"] = record.file_name
    row["extra"] = extra or None
    return row


def _insert_entries(
    session: Session,
    hash_set_id: int,
    records: Iterator[HashRecord],
    progress: Callable[[int], None] | None,
) -> int:
    """Core executemany in batches: the ORM's per-row bookkeeping costs more than the parse."""
    connection = session.connection()
    statement = insert(HashEntry)  # executed on the Connection: Core, not the ORM
    count = 0
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(_entry_row(hash_set_id, record))
        if len(batch) >= INSERT_BATCH:
            connection.execute(statement, batch)
            count += len(batch)
            batch = []
            if progress:
                progress(count)
    if batch:
        connection.execute(statement, batch)
        count += len(batch)
    if progress:
        progress(count)
    return count


def entry_records(session: Session, hash_set_id: int) -> Iterator[HashRecord]:
    """A set's entries as HashRecords, streamed in id order (the order they were imported)."""
    query = (
        select(HashEntry)
        .where(HashEntry.hash_set_id == hash_set_id)
        .order_by(HashEntry.id)
        .execution_options(yield_per=INSERT_BATCH)
    )
    for entry in session.scalars(query):
        extra = dict(entry.extra or {})
        file_name = extra.pop("file_name", None)
        yield HashRecord(
            **{field: getattr(entry, field) for field in ENTRY_FIELDS},
            file_name=file_name,
            extra=extra,
        )
        session.expunge(entry)


def export_hash_set(store: Store, actor: Actor, name: str, format_name: str, path: Path) -> int:
    """Write a hash set in ``format_name`` (VICS 2.0 ``#Media`` for ``vics``)."""
    writer = hash_set_format(format_name)
    if not writer.can_write:
        writable = [n for n in HASHSET_FORMATS.names() if hash_set_format(n).can_write]
        raise UsageError(f"cannot export as {format_name}; choose one of: {', '.join(writable)}")
    store.require_initialised()
    with store.transaction() as session:
        hash_set = session.scalars(select(HashSet).where(HashSet.name == name)).first()
        if hash_set is None:
            raise NotFound(f"no hash set named {name!r}; see `vigil hashset list`")
        count = writer.write(entry_records(session, hash_set.id), Path(path))
        audit.append(
            session,
            actor,
            "hashset.export",
            "hash_set",
            hash_set.id,
            {"name": name, "format": format_name, "path": str(path), "entries": count},
        )
    return count


def list_hash_sets(store: Store) -> list[HashSetSummary]:
    store.require_initialised()
    with store.reading() as session:
        rows = session.execute(
            select(HashSet, Source.sha256)
            .outerjoin(Source, Source.id == HashSet.source_id)
            .order_by(HashSet.name)
        ).all()
        return [
            HashSetSummary(
                s.id,
                s.name,
                s.kind,
                s.format,
                s.entry_count,
                s.pdq_radius_bits,
                s.imported_at,
                sha,
            )
            for s, sha in rows
        ]


def count_entries(session: Session, hash_set_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(HashEntry.hash_set_id == hash_set_id)) or 0
    )
