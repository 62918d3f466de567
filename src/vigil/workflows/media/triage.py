"""Triage of seized media: what is on this device, what is known, what is new.

``triage`` registers the evidence as a Source, one per exhibit (``exhibits``; the evidence
is only read), walks its members (archives and disk images included), hashes
them with the hashing engine in ``jobs`` processes, matches them against every hash set, and
writes File, FileInstance and Match rows in batched transactions. At the end it groups the
unknown images into Series and marks the Source complete, in one transaction.

Resumable by construction: a batch commits wholly or not at all, and a second run over the
same evidence skips every FileInstance already committed for that Source (nothing committed
is read for hashing again, unless its size or time has changed since), so after a SIGKILL
anywhere the next run finishes with the same rows and counts as an uninterrupted one. A member
that could not be read whole leaves the source ``incomplete`` and is read again by a rerun.
One process writes an exhibit at a time; a second says so (``source_writer``). The summary
is always recomputed from the rows.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from vigil.errors import UsageError
from vigil.evidence import Evidence, Limits, Member, Refusal, open_evidence, remove_spool_dir
from vigil.evidence.names import printable
from vigil.hashing.mime import extension_mismatch
from vigil.hashing.pool import Pending
from vigil.identity.profiles import parse_account_key
from vigil.matching import Matcher
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Source
from vigil.triage.summary import TriageSummary, summarise
from vigil.workflows.media.exhibits import claim_exhibit, close_exhibit, exhibit_identity
from vigil.workflows.media.triage_hashing import HashJob, Outcome, TriagePool, job_for, triage_pool
from vigil.workflows.media.triage_rows import (
    Committed,
    Hashed,
    InstanceRow,
    committed_instances,
    found_files,
    series_count,
    unchanged,
    write_batch,
    write_series,
)
from vigil.workflows.network.refresh import refresh_subjects
from vigil.workflows.operation.setup import find_case
from vigil.workflows.sources.writers import source_writer

DEFAULT_BATCH_FILES = 500
FLUSH_SECONDS = 5.0
# Files per task sent to a hashing process. The work in flight (``2 * jobs + 1`` chunks) must
# outlast a batch write (40-90 ms for 500 files on 2 busy cores): while the writer holds it,
# nothing new is handed out, and with 32-file chunks each worker sat idle through every
# write, a tenth of a small-file triage (benchmarks/bench_triage.py, docs/benchmarks.md).
CHUNK_FILES = 128
# The first chunks are smaller and grow to CHUNK_FILES as files are handed out (``4 * jobs``
# files a chunk for every file so far), so that a small source still spreads over every
# worker: 1,000 files in 128-file chunks would keep only 8 of 16 workers busy.
FIRST_CHUNK_FILES = 8
CHUNK_BYTES = 16 << 20
ZIP_MIME = "application/zip"

ProgressCallback = Callable[[int, int], None]  # (files, bytes) just processed


@dataclass
class TriageResult:
    source_id: int
    summary: TriageSummary
    refusals: list[Refusal] = field(default_factory=list)
    resumed: bool = False
    skipped_files: int = 0  # committed by an earlier, interrupted run
    hashed_files: int = 0


@dataclass(frozen=True)
class TriageProbes:
    """Test-only observation points, all off by default; the CLI fills them from its
    environment (``VIGIL_TRIAGE_HASH_LOG``, ``VIGIL_TRIAGE_READY_FD``, ``VIGIL_TRIAGE_PAUSE``).

    ``hash_log``: append each member path sent for hashing to this file.
    ``ready_fd`` + ``pause`` (``after-commit:N`` or ``in-transaction:N``): at batch N write
    ``ready`` to the fd, then wait forever, so a test can SIGKILL the process at exactly that
    point without sleeping.
    """

    hash_log: str | None = None
    ready_fd: str | None = None
    pause: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TriageProbes:
        return cls(
            environ.get("VIGIL_TRIAGE_HASH_LOG"),
            environ.get("VIGIL_TRIAGE_READY_FD"),
            environ.get("VIGIL_TRIAGE_PAUSE", ""),
        )

    def hashing(self, paths: list[str]) -> None:
        if self.hash_log and paths:
            with open(self.hash_log, "a", encoding="utf-8") as log:
                log.write("".join(f"{path}\n" for path in paths))

    def reached(self, stage: str, batch: int) -> None:
        if self.ready_fd and self.pause == f"{stage}:{batch}":
            os.write(int(self.ready_fd), b"ready\n")
            os.close(int(self.ready_fd))
            threading.Event().wait()


class _Run:
    """One pass over the evidence: walk, hash (in order), batch, write."""

    def __init__(
        self,
        store: Store,
        actor: Actor,
        source_id: int,
        matcher: Matcher,
        *,
        jobs: int,
        batch_files: int,
        progress: ProgressCallback | None,
        hooks: TriageProbes,
    ):
        self.store = store
        self.actor = actor
        self.source_id = source_id
        self.matcher = matcher
        self.jobs = jobs
        self.batch_files = batch_files
        self.progress = progress
        self.hooks = hooks
        self.pending: list[Hashed] = []
        self.batches = 0
        self.last_flush = time.monotonic()
        self.hashed = 0
        self.skipped = 0

    def go(self, members: Iterator[Member], committed: dict[str, Committed]) -> None:
        pool = triage_pool(self.jobs)
        in_flight: deque[tuple[list[Member], Pending[HashJob, Outcome]]] = deque()
        chunk: list[Member] = []
        chunk_bytes = handed_out = 0
        try:
            for member in members:
                if unchanged(member, committed.get(printable(member.path))):
                    self.skipped += 1
                    member.release()
                    continue
                chunk.append(member)
                chunk_bytes += member.size_bytes
                if len(chunk) >= self._chunk_files(handed_out) or chunk_bytes >= CHUNK_BYTES:
                    in_flight.append(self._submit(pool, chunk))
                    handed_out += len(chunk)
                    chunk, chunk_bytes = [], 0
                while len(in_flight) > 2 * self.jobs + 1:
                    self._collect(pool, *in_flight.popleft())
            if chunk:
                in_flight.append(self._submit(pool, chunk))
            while in_flight:
                self._collect(pool, *in_flight.popleft())
            self._flush()
        finally:
            pool.close()

    def _chunk_files(self, handed_out: int) -> int:
        return min(CHUNK_FILES, max(FIRST_CHUNK_FILES, handed_out // (4 * self.jobs)))

    def _submit(
        self, pool: TriagePool, members: list[Member]
    ) -> tuple[list[Member], Pending[HashJob, Outcome]]:
        jobs = [job_for(member) for member in members]
        self.hooks.hashing([member.path for member in members])
        return members, pool.submit(jobs)

    def _collect(
        self, pool: TriagePool, members: list[Member], pending: Pending[HashJob, Outcome]
    ) -> None:
        results = pool.result(pending)
        for member, (hashes, error) in zip(members, results, strict=True):
            member.release()
            problems = [text for text in (member.problem, error) if text]
            if hashes is not None and member.archive_kind == "zip":
                # Opened as a plain zip (no document parts): that is what its content is,
                # whatever a signature table guesses for zips in general.
                hashes = replace(hashes, mime=ZIP_MIME)
            mismatch = bool(hashes and extension_mismatch(member.name, hashes.mime))
            read_whole = not member.partial and (hashes is not None or member.unreadable)
            self.pending.append(
                Hashed(
                    member,
                    hashes,
                    "; ".join(problems) or None,
                    extension_mismatch=mismatch,
                    read_complete=read_whole,
                )
            )
            self.hashed += 1
            if self.progress is not None:
                self.progress(1, hashes.size_bytes if hashes else 0)
            if len(self.pending) >= self.batch_files:
                self._flush()
        if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        self.batches += 1
        with self.store.transaction() as session:
            write_batch(session, self.actor, self.source_id, self.matcher, self.pending)
            self.hooks.reached("in-transaction", self.batches)
        self.hooks.reached("after-commit", self.batches)
        self.pending = []
        self.last_flush = time.monotonic()


def _load_matcher(store: Store) -> Matcher:
    from vigil.workflows.media.matching import load_matcher

    return load_matcher(store)


def triage(
    store: Store,
    actor: Actor,
    path: Path,
    case_reference: str,
    *,
    jobs: int = 1,
    batch_files: int = DEFAULT_BATCH_FILES,
    progress: ProgressCallback | None = None,
    limits: Limits | None = None,
    owner: str | None = None,
    exhibit: str | None = None,
    probes: TriageProbes | None = None,
) -> TriageResult:
    """Triage the evidence at ``path`` into the case; resume it if it was interrupted.

    ``owner`` (``platform:username``) is the seizure record: the account of the person the
    device was seized from. The network credits the device's files to that account's subject.
    ``exhibit`` is the examiner's exhibit reference; with ``owner`` and the evidence itself it
    says which exhibit this is (``exhibits.exhibit_key``): two devices that look alike are
    two sources, and a rerun of one exhibit resumes it, reading again only what changed.
    """
    started = time.perf_counter()
    seized_from = _seizure_record(owner)
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if batch_files < 1:
        raise UsageError("the batch size must be at least 1")
    if exhibit is not None and not exhibit.strip():
        raise UsageError("--exhibit must not be empty")
    store.require_initialised()
    evidence = open_evidence(Path(path), limits)
    identity = exhibit_identity(evidence, exhibit, seized_from.get("seized_from"))
    with store.transaction() as session:
        case = find_case(session, actor, case_reference)
        source = claim_exhibit(session, actor, case.id, identity, extra=seized_from)
        source_id = source.id
        complete = source.status == "complete"
        committed = {} if complete else committed_instances(session, source_id)
    result = TriageResult(source_id, summarise([], series=0, seconds=0), resumed=bool(committed))
    instances: list[InstanceRow] | None = None
    series = 0
    if not complete:
        with source_writer(store, source_id, evidence.path):
            _walk_and_write(
                store,
                actor,
                source_id,
                evidence,
                committed,
                jobs,
                batch_files,
                progress,
                result,
                probes,
            )
            with store.transaction() as session:
                source = session.get_one(Source, source_id)
                instances = found_files(session, source_id)
                groups = write_series(session, actor, source, instances)
                series = len(groups)
                interim = summarise([row.found for row in instances], series=series, seconds=0)
                closing = close_exhibit(session, source, identity)
                audit.append(
                    session,
                    actor,
                    "triage.complete",
                    "source",
                    source_id,
                    {**interim.as_dict(), "refused": len(result.refusals), **closing},
                )
                # A seized device is evidence about its owner: priorities follow.
                refresh_subjects(session, actor)
    if instances is None:  # completed by an earlier run: read its rows back
        with store.reading() as session:
            instances = found_files(session, source_id)
            series = series_count(session, source_id)
    result.summary = summarise(
        [row.found for row in instances], series=series, seconds=time.perf_counter() - started
    )
    return result


def _seizure_record(owner: str | None) -> dict[str, dict[str, str]]:
    if owner is None:
        return {}
    try:
        platform, username = parse_account_key(owner)
    except ValueError as exc:
        raise UsageError(f"--owner: {exc}") from exc
    return {"seized_from": {"platform": platform, "username": username}}


def _walk_and_write(
    store: Store,
    actor: Actor,
    source_id: int,
    evidence: Evidence,
    committed: dict[str, Committed],
    jobs: int,
    batch_files: int,
    progress: ProgressCallback | None,
    result: TriageResult,
    probes: TriageProbes | None,
) -> None:
    matcher = _load_matcher(store)
    run = _Run(
        store,
        actor,
        source_id,
        matcher,
        jobs=jobs,
        batch_files=batch_files,
        progress=progress,
        hooks=probes or TriageProbes(),
    )
    try:
        run.go(evidence.members(), committed)
    finally:
        remove_spool_dir()
    result.refusals = list(evidence.refusals)
    result.skipped_files = run.skipped
    result.hashed_files = run.hashed
