"""Hashing many files: walking folders and spreading the work over processes.

Decoding is CPU-bound and holds the GIL, so parallelism means processes. Results come back
in the order the files were listed, so output is stable whatever the number of jobs.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vigil.errors import BadInput
from vigil.hashing.files import FileHashes, hash_file, undecoded_file
from vigil.hashing.pool import HashPool, Pending
from vigil.machine import cores_here


@dataclass(frozen=True)
class HashOutcome:
    path: Path
    hashes: FileHashes | None  # None when the file could not be read at all
    error: str | None  # why it was not fully processed (read failure or decode failure)

    def as_json(self) -> dict[str, Any]:
        """One line of ``vigil hash``: ``path, size, mime, md5, sha1, sha256, pdq,
        pdq_quality`` (PDQ of the stored pixels), ``error``; ``video_frames`` and ``exif``
        when there are any."""
        hashes = self.hashes
        line: dict[str, Any] = {
            "path": str(self.path),
            "size": hashes.size_bytes if hashes else None,
            "mime": hashes.mime if hashes else None,
            "md5": hashes.md5 if hashes else None,
            "sha1": hashes.sha1 if hashes else None,
            "sha256": hashes.sha256 if hashes else None,
            "pdq": hashes.pdq if hashes else None,
            "pdq_quality": hashes.pdq_quality if hashes else None,
            "error": self.error,
        }
        if hashes and hashes.video_frames is not None:
            line["video_frames"] = [asdict(frame) for frame in hashes.video_frames]
        if hashes and hashes.exif is not None:
            line["exif"] = asdict(hashes.exif)
        return line


def list_files(paths: Iterable[Path]) -> list[Path]:
    """Every regular file under ``paths``, folders walked recursively in name order.

    A path that does not exist, or is a pipe or device, is bad input, raised before any
    file is hashed. Inside folders, symbolic links to folders are not followed, so a link
    loop cannot make the walk endless, and only regular files are listed.
    """
    roots = [Path(path) for path in paths]
    for root in roots:
        if not root.exists():
            raise BadInput("no such file or directory", source=str(root))
        if not (root.is_dir() or root.is_file()):
            # A pipe or device could be read forever.
            raise BadInput("not a regular file or folder", source=str(root))
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            found.extend(_walk(root))
        else:
            found.append(root)
    return found


def _walk(root: Path) -> Iterator[Path]:
    def refuse(exc: OSError) -> None:
        raise BadInput(f"cannot list folder: {exc.strerror or exc}", source=exc.filename) from exc

    for folder, subfolders, names in os.walk(root, onerror=refuse):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file():
                yield path


def hash_one(path: Path) -> HashOutcome:
    try:
        hashes = hash_file(path)
    except BadInput as exc:
        return HashOutcome(path, None, str(exc))
    return HashOutcome(path, hashes, hashes.error)


CHUNK_FILES = 2  # files a worker takes at a time: few, so a crash takes few down with it


def hash_paths(files: Sequence[Path], *, jobs: int | None = None) -> Iterator[HashOutcome]:
    """Hash ``files`` with ``jobs`` processes (default: one per CPU), yielding in order.

    A file that kills its worker (a native decoder fault on a hostile file) breaks the
    pool; the hashing engine's ``HashPool`` runs again the files it took down, one at a
    time, so the one that crashes is known: it gets its digests without decoding, and
    ``error`` says so. At most a few chunks per worker are in flight, so a long list costs
    no more memory than a short one.
    """
    workers = min(jobs or cores_here(), len(files))
    if workers <= 1:
        yield from map(hash_one, files)
        return
    with HashPool(workers, hash_one, undecoded_outcome) as pool:
        in_flight: deque[Pending[Path, HashOutcome]] = deque()
        for start in range(0, len(files), CHUNK_FILES):
            in_flight.append(pool.submit(list(files[start : start + CHUNK_FILES])))
            if len(in_flight) > 2 * workers:
                yield from pool.result(in_flight.popleft())
        while in_flight:
            yield from pool.result(in_flight.popleft())


def undecoded_outcome(path: Path) -> HashOutcome:
    """What a file that crashes every process it is hashed in gets: its digests and type,
    read here without decoding."""
    try:
        hashes = undecoded_file(path)
    except OSError as exc:
        return HashOutcome(path, None, f"cannot read: {exc.strerror or exc}")
    return HashOutcome(path, hashes, hashes.error)
