"""Ingesting sources: provider reports, chat logs, forum databases, subscriber returns.

Promises:
- **Provenance and idempotence.** Each document (a file, or a database) is one ``Source``
  with its SHA-256 (for a server database, the canonical dump digest its parser documents).
  The same bytes in the same case again change nothing: the document is not even parsed.
- **One source, one transaction; nothing half-written.** A document is parsed completely
  before the store is touched, so "not my format" and every bad record fail it with
  ``BadInput`` naming the record, and nothing is written. A directory is written in batches
  of whole documents (at most ``BATCH_RECORDS`` records, by store, or ``BATCH_DOCUMENTS``
  documents, fewer when a parsing worker has not finished the next one), one transaction per batch
  (each document is still its own Source with its own audit entry), never open while a
  document is read or parsed; a bad document stops the run before its batch is written, and
  the batches already committed are complete sources that a re-run skips.
- **Contract C.** Accounts are ``username`` selectors (value casefolded, display as written,
  platform as first written, compared case-insensitively); a stable id is an ``account``
  selector sighted on the username selector; each account gets its own sighting per source;
  selectors seen on an account are sightings with ``account_id``; ``role`` (victim,
  reported, recipient, subscriber) goes in the sighting's ``extra["role"]``. Other keys
  readers use: ``extra["country"]`` (a CyberTipline ``estimatedLocation``),
  ``extra["possible_proxy"]`` (an IP capture), ``extra["subscriber"]`` and
  ``extra["window"]`` (an ISP return, with ``subscriber["country"]``).
  ``file_transfer`` events are the file sends of docs/formats.md; ``extra["send"]`` names the
  send action, so a DM to three people (three events, one per target) is one send; an IRC
  DCC SEND is one event with ``room`` and ``extra["recipients"]`` (selector ids).
  Provider-reported files are ``upload`` events. Files named by hash become ``File`` rows
  (an MD5-only file gets an MD5-only row, completed when its SHA-256 turns up later) and are
  checked against the hash sets by the matching workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.collector import collector_paused
from vigil.errors import BadInput
from vigil.formats.source_common import time_zone
from vigil.formats.source_records import ParseOptions
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Source
from vigil.workflows.network.refresh import refresh_store
from vigil.workflows.operation.setup import find_case
from vigil.workflows.sources.ingest_writer import SelectorCache, SourceWriter, WriteCounts
from vigil.workflows.sources.parsing import DocumentParsing, Planned, parser_for, worker_count
from vigil.workflows.sources.provenance import (
    MAX_STORED_WARNINGS,
    Digest,
    register_source,
    warnings_extra,
)

# Records read before a directory's batch is written, at most, by store. Each commit writes
# every page it touched to SQLite's WAL, and the indexes keyed by selector or file take their
# inserts all over: at 100,000 reports a 5,000-record batch rewrote most of them, and commits
# took a seventh of the writer's time. 20,000 took a tenth off an ingest there
# (docs/benchmarks.md); SQLite's write lock is then held about two seconds at a time.
# PostgreSQL has no such cost and keeps smaller batches: a batch holds the audit chain's lock
# (``store.audit``), which the server's other writers wait for.
BATCH_RECORDS = {"sqlite": 20_000, "postgresql": 5_000}
ANALYZE_AFTER_ROWS = 1_000  # new selectors and files that refresh the store's statistics
BATCH_DOCUMENTS = 200

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class DocumentResult:
    name: str
    sha256: str
    source_id: int
    created: bool
    records: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    warnings: list[str] = field(default_factory=list)
    dirty_values: int = 0  # of the warnings: values kept verbatim on their sightings


@dataclass
class IngestSummary:
    format: str
    case: str
    documents: list[DocumentResult] = field(default_factory=list)

    @property
    def new_sources(self) -> int:
        return sum(1 for d in self.documents if d.created)

    @property
    def already_ingested(self) -> int:
        return sum(1 for d in self.documents if not d.created)

    def totals(self) -> dict[str, int]:
        total = WriteCounts()
        for document in self.documents:
            total.add(document.counts)
        return {
            "sources": len(self.documents),
            "new_sources": self.new_sources,
            "already_ingested": self.already_ingested,
            "records": sum(d.records for d in self.documents),
            **total.as_dict(),
            "warnings": sum(len(d.warnings) for d in self.documents),
            "dirty_values": sum(d.dirty_values for d in self.documents),
        }


def ingest(
    store: Store,
    actor: Actor,
    format_name: str,
    location: str,
    case_reference: str,
    options: ParseOptions | None = None,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Ingest every document at ``location`` (a file, a directory, or a database URL).

    The cyclic garbage collector is paused meanwhile (``vigil.collector``): parsed records
    are acyclic and live until their batch is written, and its scans of them cost a fifth of
    the ingest time. A directory of some size is parsed by a worker process while this one
    writes (``workflows.sources.parsing``); the rows written are the same either way.
    """
    with collector_paused():
        return _ingest(store, actor, format_name, location, case_reference, options, progress)


def _ingest(
    store: Store,
    actor: Actor,
    format_name: str,
    location: str,
    case_reference: str,
    options: ParseOptions | None,
    progress: ProgressCallback | None,
) -> IngestSummary:
    store.require_initialised()
    options = options or ParseOptions()
    time_zone(options.tz)  # a wrong --tz is a usage error even when nothing needs parsing
    documents = list(parser_for(format_name).documents(location))
    with store.reading() as session:
        case_id = find_case(session, actor, case_reference).id
    summary = IngestSummary(format_name, case_reference)
    cache = SelectorCache()
    statistics = _LookupStatistics(store)
    parsing = DocumentParsing(
        format_name,
        options,
        lambda digest: _existing_source(store, digest, case_id),
        worker_count(documents),
    )
    batch: list[Planned] = []  # read, not yet written: already-ingested ones too, in order
    batch_records = BATCH_RECORDS[store.dialect]
    records = 0

    def write() -> None:
        written = _write_batch(store, actor, case_id, batch, cache)
        statistics.after(written)
        summary.documents.extend(written)

    with parsing:
        for done, planned in enumerate(parsing.in_order(documents), start=1):
            batch.append(planned)
            if planned.parsed is not None:
                records += max(planned.parsed.records, 1)
            if progress is not None:
                progress(done, len(documents), planned.document.name)
            # Written when full, and whenever the worker's next document is not parsed yet:
            # the writer writes what it holds rather than wait with it. Never while a
            # document is read or parsed: a transaction holds SQLite's write lock.
            if records >= batch_records or len(batch) >= BATCH_DOCUMENTS or parsing.would_wait():
                write()
                batch, records = [], 0
    if batch:
        write()
    if summary.new_sources:
        refresh_store(store, actor)  # new evidence moves the countries and priorities it touches
    return summary


def ingest_listed(
    store: Store,
    actor: Actor,
    root: Path,
    sources: Iterable[dict[str, Any]],
    case_reference: str,
    step: Callable[[str], None] | None = None,
) -> list[IngestSummary]:
    """Ingest a list of ``{format, path, platform}`` entries (synth's ``truth["sources"]``,
    what ``vigil demo`` and the truth tests feed in), paths relative to ``root``.
    ``step`` is told each entry before it is ingested."""
    summaries = []
    for entry in sources:
        if step is not None:
            step(f"ingest {entry['format']} {entry['path']}")
        summaries.append(
            ingest(
                store,
                actor,
                entry["format"],
                str(root / entry["path"]),
                case_reference,
                ParseOptions(platform=entry.get("platform")),
            )
        )
    return summaries


def _existing_source(store: Store, digest: Digest, case_id: int) -> int | None:
    with store.reading() as session:
        return session.scalars(
            select(Source.id).where(
                Source.sha256 == digest.sha256, Source.case_id == case_id, Source.exhibit == ""
            )
        ).first()


@dataclass
class _LookupStatistics:
    """When to refresh the store's planner statistics during an ingest (``Store.analyze``).

    The next batch looks the new selectors and files up by value, and a plan made for a tiny
    table makes a long ingest quadratic. The plan needs the tables' sizes right within a
    factor, not exactly: so a refresh comes after ``ANALYZE_AFTER_ROWS`` new rows, then each
    time the ingest has doubled what it added by the last one (each refresh samples the
    tables anew and took about a tenth of a long PostgreSQL ingest when it came every batch).
    """

    store: Store
    added: int = 0  # since the last refresh
    counted: int = 0  # by the last refresh

    def after(self, written: list[DocumentResult]) -> None:
        self.added += sum(r.counts.selectors_new + r.counts.files_new for r in written)
        if self.added < max(ANALYZE_AFTER_ROWS, self.counted):
            return
        self.store.analyze("selector", "file")
        self.counted += self.added
        self.added = 0


def _write_batch(
    store: Store, actor: Actor, case_id: int, batch: list[Planned], cache: SelectorCache
) -> list[DocumentResult]:
    """One transaction for the batch's new documents; a result for every document, in order
    (one already in the store is written by nothing, so a batch of those opens none)."""
    if all(planned.parsed is None for planned in batch):
        return [_already_ingested(planned) for planned in batch]
    staged = cache.child()  # ids created in this transaction count only once it commits
    # The writer answers for its references (``Store.transaction``): the ids it did not read
    # or create in this transaction are the cache's, which it confirms, and the case's,
    # agency's and user's, which are never deleted.
    with store.transaction(writer_checks_references=True) as session:
        results = [
            _already_ingested(planned)
            if planned.parsed is None
            else _write_document(session, actor, case_id, planned, staged)
            for planned in batch
        ]
    cache.merge(staged)
    return results


def _already_ingested(planned: Planned) -> DocumentResult:
    assert planned.digest is not None and planned.existing is not None
    return DocumentResult(planned.document.name, planned.digest.sha256, planned.existing, False)


def _write_document(
    session: Session, actor: Actor, case_id: int, planned: Planned, cache: SelectorCache
) -> DocumentResult:
    """One parsed document: its Source (found again if these bytes went in earlier in the
    batch), then its rows, File matches and audit entry, in the batch's transaction."""
    document, digest, parsed, rows = planned.document, planned.digest, planned.parsed, planned.rows
    assert parsed is not None and rows is not None
    if digest is None:
        if parsed.sha256 is None or parsed.size_bytes is None:
            raise BadInput("the parser gave no digest for this source", source=document.name)
        digest = Digest(parsed.sha256, parsed.size_bytes)
    extra = {**parsed.extra, **warnings_extra(parsed.warnings, len(parsed.dirty))}
    if unplaced := parsed.unplaced_dirty():  # read with nothing else to sit on
        extra["dirty_values"] = unplaced[:MAX_STORED_WARNINGS]
    ref = register_source(
        session,
        actor,
        kind=parsed.kind,
        original_name=document.name,
        digest=digest,
        case_id=case_id,
        extra=extra or None,
    )
    result = DocumentResult(
        document.name,
        digest.sha256,
        ref.id,
        ref.created,
        parsed.records,
        warnings=parsed.warnings,
        dirty_values=len(parsed.dirty),
    )
    if ref.created:
        writer = SourceWriter(session, actor, case_id, ref.id, cache)
        result.counts = writer.write(rows)
        if writer.warnings:
            result.warnings = [*parsed.warnings, *writer.warnings]
            source = session.get(Source, ref.id)
            assert source is not None
            source.extra = {**(source.extra or {}), **warnings_extra(result.warnings)}
        match_new_files(session, actor, writer.file_ids)
        audit.append(
            session,
            actor,
            "source.ingest",
            "source",
            ref.id,
            {
                "format": parsed.kind,
                "name": document.name,
                "sha256": digest.sha256,
                "records": parsed.records,
                **result.counts.as_dict(),
                "warnings": len(result.warnings),
            },
        )
    return result


def match_new_files(session: Any, actor: Actor, file_ids: list[int]) -> int:
    """The single call site into the matching workflow (docs/formats.md), in the same transaction,
    so a source's File rows and their Match rows commit together."""
    if not file_ids:
        return 0
    # heavy (numpy, pdqhash): imported only when there are files to match
    from vigil.workflows.media.matching import match_files

    return int(match_files(session, actor, file_ids))


def ingest_json(summary: IngestSummary) -> dict[str, Any]:
    """The ``vigil ingest --json`` shape (the API's ingest jobs return the same)."""
    return {
        "format": summary.format,
        "case": summary.case,
        **summary.totals(),
        "documents": [
            {
                "name": d.name,
                "sha256": d.sha256,
                "source_id": d.source_id,
                "created": d.created,
                "records": d.records,
                **d.counts.as_dict(),
                "warnings": d.warnings,
                "dirty_values": d.dirty_values,
            }
            for d in summary.documents
        ],
    }
