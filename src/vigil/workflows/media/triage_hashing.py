"""Hashing triage members in worker processes, surviving a decoder that crashes its process.

Members go to the workers in chunks (one task per chunk keeps inter-process overhead low for
many small files) and come back in submission order. A worker that dies (a native decoder
fault on a hostile file) breaks the whole pool; the chunks it took down are then hashed
again one member at a time in a fresh process, and a member that kills that process, and
then a process of its own too, gets its digests computed here, without decoding, and is
recorded as not fully processed.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import BadInput
from vigil.evidence import Member
from vigil.hashing import FileHashes, hash_file
from vigil.hashing.digests import digest_bytes
from vigil.hashing.files import describe, undecoded, undecoded_file
from vigil.processes import in_own_process, process_pool

# What hashing made of a member, and what went wrong reading this instance (its problem:
# never stored on the content-addressed File, whose own ``error`` is a decoding failure).
Outcome = tuple[FileHashes | None, str | None]
CHANGED = "changed while being read (size or time moved during two reads): hashed as last read"


@dataclass(frozen=True)
class HashJob:
    """What a hashing process needs for one member: a path to read, or the bytes."""

    name: str
    local: str | None = None
    data: bytes | None = None
    readable: bool = True


def job_for(member: Member) -> HashJob:
    if member.local_path is not None and not member.unreadable:
        return HashJob(member.name, local=str(member.local_path))
    content = member.load()
    if member.unreadable or member.partial:
        return HashJob(member.name, readable=False)
    if content.data is not None:
        return HashJob(member.name, data=content.data)
    return HashJob(member.name, local=str(content.path))


def hash_job(job: HashJob) -> Outcome:
    if not job.readable:
        return None, None
    try:
        if job.local is not None:
            return _hash_local(Path(job.local))
        # already in memory: the engine's own steps, without hash_stream's spool file
        data = job.data or b""
        return describe(digest_bytes(data), data), None
    except BadInput as exc:
        return None, str(exc)


def _hash_local(path: Path) -> Outcome:
    """A file on live media may change under us: read it again once, then flag it."""
    for _attempt in range(2):
        before = _identity(path)
        hashes = hash_file(path)
        after = _identity(path)
        if before == after and after[0] == hashes.size_bytes:
            return hashes, None
    return hashes, CHANGED


def _identity(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return info.st_size, info.st_mtime_ns


def hash_chunk(jobs: list[HashJob]) -> list[Outcome]:
    return [hash_job(job) for job in jobs]


def digests_only(job: HashJob) -> Outcome:
    """Digests and type without decoding anything: the fallback for a crashing file."""
    if job.local is None:
        return undecoded(digest_bytes(job.data or b"")), None
    try:
        return undecoded_file(Path(job.local)), None
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


@dataclass(frozen=True)
class Pending:
    """A chunk handed to a pool: which pool (generation) and its future, or its results."""

    jobs: list[HashJob]
    generation: int
    future: Future[list[Outcome]] | None = None
    done: list[Outcome] | None = None


class HashPool:
    """``jobs`` processes (or this process when ``jobs`` is 1), results in submission order.

    With one job, hashing runs in this process: no isolation from a crashing decoder.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.generation = 0
        self.pool = process_pool(jobs) if jobs > 1 else None

    def submit(self, jobs: list[HashJob]) -> Pending:
        if self.pool is None:
            return Pending(jobs, self.generation, done=hash_chunk(jobs))
        try:
            future = self.pool.submit(hash_chunk, jobs)
        except BrokenProcessPool:
            # A crash broke the pool after earlier chunks were handed out and before their
            # results are read (which is where the pool is otherwise replaced): the chunks
            # already handed out are hashed again when their turn comes, this one goes to a
            # new pool.
            self._renew()
            future = self.pool.submit(hash_chunk, jobs)
        return Pending(jobs, self.generation, future=future)

    def result(self, pending: Pending) -> list[Outcome]:
        if pending.future is None:
            return pending.done or []
        try:
            return pending.future.result()
        except BrokenProcessPool:
            if pending.generation == self.generation:  # the current pool broke: replace it
                self._renew()
            return self._isolated(pending.jobs)

    def _renew(self) -> None:
        if self.pool is not None:
            # Not cancelled: the broken pool fails every chunk it still holds, and each one
            # is hashed again when read (a cancelled one would raise instead).
            self.pool.shutdown(wait=False)
        self.pool = process_pool(self.jobs)
        self.generation += 1

    @staticmethod
    def _isolated(jobs: list[HashJob]) -> list[Outcome]:
        """The jobs of a chunk a crash took down, one at a time in one fresh process, so
        that a crash names its file: a chunk costs one new process, not one per file.

        A file that kills that process is tried once more in a process of its own before
        it is recorded as crashing: the process had hashed other files first, and one of
        them may have left it damaged without dying itself.
        """
        outcomes: list[Outcome] = []
        solo = None
        try:
            for job in jobs:
                solo = solo or process_pool(1)
                try:
                    outcomes.append(solo.submit(hash_job, job).result())
                except BrokenProcessPool:
                    solo.shutdown(wait=False)
                    solo = None
                    outcomes.append(HashPool._alone(job))
        finally:
            if solo is not None:
                solo.shutdown(wait=True)
        return outcomes

    @staticmethod
    def _alone(job: HashJob) -> Outcome:
        try:
            return in_own_process(hash_job, job)
        except BrokenProcessPool:
            return digests_only(job)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
