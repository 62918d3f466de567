"""What triage hashes for each member, in worker processes that survive a crashing decoder.

A member goes to the workers as a ``HashJob`` (a path to read, or the bytes), in chunks,
through the hashing engine's ``HashPool``, which runs again the chunks a crash took down. A
member that kills every process it runs in gets its digests computed here, without
decoding (``digests_only``), and is recorded as not fully processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigil.errors import BadInput
from vigil.evidence import Member
from vigil.hashing import FileHashes, hash_file
from vigil.hashing.digests import digest_bytes
from vigil.hashing.files import describe, undecoded, undecoded_file
from vigil.hashing.pool import HashPool

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


def digests_only(job: HashJob) -> Outcome:
    """Digests and type without decoding anything: the fallback for a crashing file."""
    if job.local is None:
        return undecoded(digest_bytes(job.data or b"")), None
    try:
        return undecoded_file(Path(job.local)), None
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


TriagePool = HashPool[HashJob, Outcome]


def triage_pool(jobs: int) -> TriagePool:
    """``jobs`` hashing processes for triage members (``vigil.hashing.pool``); a member
    that crashes every process it runs in gets ``digests_only``."""
    return HashPool(jobs, hash_job, digests_only)
