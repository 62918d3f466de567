"""Parsing an ingest's documents in a worker process while this one writes.

Why: parsing and writing each take about half of an ingest, and they need nothing from each
other but order. A worker parses the next documents, and turns each into the writer's rows
(``ingest_rows``: everything the writer does that needs no store), while this process writes
the current batch; the results come back in document order, so the store ends up exactly as
a one-process ingest leaves it (same rows, same ids, same audit chain). What crosses the
process boundary is pickled, which still costs something, so the worker pays off only on
inputs of some size: smaller ones (``PIPELINE_MIN_BYTES``), database URLs and single
documents are read in this process as before.

Already-ingested documents are never parsed: each document's digest is looked up in the
store before it is handed to a worker. A document whose bytes appeared earlier in the same
run is looked up again when its turn comes, since the earlier copy may have been written in
between; a speculative parse of it is then dropped.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from vigil.collector import collector_paused
from vigil.errors import BadInput, VigilError
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_records import (
    ParsedSource,
    ParseOptions,
    SourceDocument,
    SourceParser,
)
from vigil.machine import cores_here
from vigil.processes import process_pool
from vigil.workflows.sources.ingest_rows import SourceRows, source_rows
from vigil.workflows.sources.provenance import Digest, digest_file

PIPELINE_MIN_BYTES = 4 << 20  # total input below which the worker costs more than it saves
MAX_WORKERS = 2  # the writer is the bottleneck beyond one or two parsers
# How far the workers may run ahead of the writer: at least a batch (``ingest.BATCH_RECORDS``)
# so they keep parsing while it writes one, and at most this much input held parsed.
BYTES_AHEAD = 48 << 20
DOCUMENTS_AHEAD = 64

ExistingSource = Callable[[Digest], int | None]
# With two workers the document that killed one may be the next one: the message says so.
PARSER_DIED = "the parser's process died reading this document or one read beside it"


@dataclass
class Planned:
    """One document in ingest order: its digest, the source that already holds its bytes,
    and (once its turn comes) what the parser made of it."""

    document: SourceDocument
    digest: Digest | None
    existing: int | None
    parsed: ParsedSource | None = None
    """Without its records: they are in ``rows``."""
    rows: SourceRows | None = None
    future: Future[ReadDocument] | None = None
    repeated: bool = False  # the same bytes came earlier in this run
    unreadable: BadInput | None = None  # raised at its turn, as a one-process ingest would


def parser_for(format_name: str) -> SourceParser:
    return SOURCE_FORMATS.get(format_name)()  # type: ignore[operator,no-any-return]


def parse_document(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ParsedSource:
    """One document, whole (what a worker runs; this process too, when there is none)."""
    with collector_paused():  # parsed records are acyclic (``vigil.collector``)
        return parser_for(format_name).parse(document, options)


ReadDocument = tuple[ParsedSource, SourceRows]


def read_document(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ReadDocument:
    """One document parsed and turned into the writer's rows. The parsed source comes back
    without its records (sightings, events), which the rows now hold."""
    parsed = parse_document(format_name, document, options)
    with collector_paused():
        rows = source_rows(parsed)
    return replace(parsed, sightings=[], events=[]), rows


def read_in_worker(
    format_name: str, document: SourceDocument, options: ParseOptions
) -> ReadDocument:
    """``read_document`` in a worker. A Vigil error crosses back as itself; anything else
    (a parser bug) crosses back as a ``RuntimeError`` carrying its type, message and trace,
    since an exception that cannot be pickled would arrive as a pickling error instead."""
    try:
        return read_document(format_name, document, options)
    except VigilError:
        raise
    except Exception as exc:
        trace = "".join(traceback.format_exception(exc))
        raise RuntimeError(f"{type(exc).__name__}: {exc} (in a parser process)\n{trace}") from None


def worker_count(documents: list[SourceDocument]) -> int:
    """Worker processes worth starting for these documents: none for a small input."""
    if len(documents) < 2:
        return 0
    size = 0
    for document in documents:
        if document.path is not None:
            try:
                size += document.path.stat().st_size
            except OSError:
                continue  # reported by its digest, in order
    if size < PIPELINE_MIN_BYTES:
        return 0
    return max(1, min(MAX_WORKERS, cores_here() - 1))


class DocumentParsing:
    """Documents in order, each with its digest, existing source and parse.

    ``workers`` processes parse ahead of the caller; with none, each document is parsed when
    the caller reaches it. Use as a context manager: leaving it stops the workers.
    """

    def __init__(
        self,
        format_name: str,
        options: ParseOptions,
        existing_source: ExistingSource,
        workers: int,
    ):
        self.format_name = format_name
        self.options = options
        self.existing_source = existing_source
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.waiting: deque[Planned] = deque()  # planned, not yet handed to the caller

    def __enter__(self) -> DocumentParsing:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *exc_info: object) -> None:
        """After the last document the workers are idle and end at once; after an error or
        an interrupt they are stopped mid-parse rather than left to finish the look-ahead."""
        pool, self.pool = self.pool, None
        if pool is None:
            return
        if error_type is None:
            pool.shutdown(wait=True)
            return
        # No public way to stop a busy worker before Python 3.14 (``kill_workers``). SIGKILL,
        # not SIGTERM: a worker forked from a process with its own SIGTERM handler keeps it,
        # and the parse it would finish is thrown away anyway.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()

    def in_order(self, documents: Iterable[SourceDocument]) -> Iterator[Planned]:
        """Every document once, in order; ``parsed`` is None for one already in the store."""
        seen: set[str] = set()
        waiting = self.waiting
        ahead = 0  # bytes of input in ``waiting``
        for document in documents:
            planned = self._plan(document, seen)
            waiting.append(planned)
            ahead += planned.digest.size_bytes if planned.digest is not None else 0
            while waiting and (
                not self.workers or ahead > BYTES_AHEAD or len(waiting) > DOCUMENTS_AHEAD
            ):
                done = waiting.popleft()
                ahead -= done.digest.size_bytes if done.digest is not None else 0
                yield self._finish(done)
        while waiting:
            yield self._finish(waiting.popleft())

    def would_wait(self) -> bool:
        """Whether handing over the next document means waiting for a worker to parse it.

        The caller then writes what it holds first, rather than idle with it. Without
        workers there is nothing to overlap: each document is parsed when its turn comes."""
        if not self.workers or not self.waiting:
            return False
        future = self.waiting[0].future
        return future is not None and not future.done()

    def _plan(self, document: SourceDocument, seen: set[str]) -> Planned:
        try:
            digest = digest_file(document.path) if document.path is not None else None
        except BadInput as exc:
            return Planned(document, None, None, unreadable=exc)
        existing = self.existing_source(digest) if digest is not None else None
        planned = Planned(document, digest, existing)
        if digest is not None:
            planned.repeated = digest.sha256 in seen
            seen.add(digest.sha256)
        if existing is None and self.workers and document.path is not None:
            try:
                planned.future = self._pool().submit(
                    read_in_worker, self.format_name, document, self.options
                )
            except BrokenProcessPool:
                planned.unreadable = BadInput(PARSER_DIED, source=document.name)
        return planned

    def _finish(self, planned: Planned) -> Planned:
        if planned.unreadable is not None:
            raise planned.unreadable
        if planned.repeated and planned.existing is None and planned.digest is not None:
            planned.existing = self.existing_source(planned.digest)  # written meanwhile?
        if planned.existing is not None:
            if planned.future is not None:
                planned.future.cancel()
            return planned
        if planned.future is None:
            planned.parsed, planned.rows = read_document(
                self.format_name, planned.document, self.options
            )
            return planned
        try:
            planned.parsed, planned.rows = planned.future.result()
        except BrokenProcessPool:
            raise BadInput(PARSER_DIED, source=planned.document.name) from None
        return planned

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = process_pool(self.workers)
        return self.pool
