"""What every evidence reader yields: members, each one regular file found on the media.

A member is described without being read: its content is loaded only when the caller asks
(``load``), so a resumed triage can walk past files it already committed without reading
them. Readers that stream (tar) keep a member's content readable only until the next member
is requested; ``load`` caches what it read so that the member stays usable afterwards.

Content is held in memory up to ``SPOOL_BYTES``; larger content is spooled to a private
temporary file that the caller removes with ``release``. Nothing is written next to the
evidence, and the evidence is only ever opened for reading.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

SPOOL_BYTES = 64 << 20
READ_CHUNK_BYTES = 1 << 20
HEAD_BYTES = 512


@dataclass(frozen=True)
class Limits:
    """Guards against hostile containers (decompression bombs, archive quines)."""

    max_depth: int = 8
    max_member_bytes: int = 16 << 30
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 4 << 20  # below this, any ratio is harmless
    max_expanded_bytes: int = 256 << 30  # everything decompressed from one top archive


@dataclass(frozen=True)
class Refusal:
    """A member that was not read, and why: reported to the examiner, never extracted."""

    path: str
    reason: str


@dataclass
class Content:
    """A member's bytes: in memory, or in a file (the evidence itself, or a spool)."""

    data: bytes | None = None
    path: Path | None = None
    temporary: bool = False

    def head(self, size: int = HEAD_BYTES) -> bytes:
        if self.data is not None:
            return self.data[:size]
        assert self.path is not None
        # Unbuffered: a buffered reader would read a whole buffer (often the whole small file)
        # to return these few bytes, once for every file a triage sniffs for an archive.
        with self.path.open("rb", buffering=0) as handle:
            return handle.read(size)

    def open(self) -> BinaryIO:
        if self.data is not None:
            import io

            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def release(self) -> None:
        """Remove a spooled copy; the evidence itself is never touched."""
        if self.temporary and self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


@dataclass
class Member:
    """One regular file found in the evidence (a folder file, an archive member, a disk file)."""

    path: str
    size_bytes: int
    modified_at: datetime | None = None
    created_at: datetime | None = None
    accessed_at: datetime | None = None
    deleted: bool = False
    carved: bool = False
    local_path: Path | None = None
    problem: str | None = None
    unreadable: bool = False  # no content at all (encrypted, unreadable): not hashed
    # The bytes could not be read whole (a bad CRC, a cut stream, a full spool disk): what was
    # read is not this file's content, so it gets no content hash and a rerun retries it.
    partial: bool = False
    archive_kind: str | None = None  # "zip" or "tar" when it was expanded as an archive
    reader: Callable[[], Content] | None = field(default=None, repr=False)
    _content: Content | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def load(self) -> Content:
        """The member's content; read once, then cached. Read errors land in ``problem``."""
        if self._content is None:
            if self.local_path is not None:
                self._content = Content(path=self.local_path)
            elif self.reader is not None:
                try:
                    self._content = self.reader()
                except (OSError, ValueError, EOFError) as exc:
                    self.add_problem(f"cannot read: {exc}")
                    self.unreadable = self.partial = True
                    self._content = Content(data=b"")
            else:
                self._content = Content(data=b"")
        return self._content

    def release(self) -> None:
        """Drop the cached content (and its spool file, if any)."""
        if self._content is not None:
            self._content.release()
            self._content = None

    def head(self, size: int = HEAD_BYTES) -> bytes:
        try:
            return self.load().head(size)
        except OSError as exc:
            self.add_problem(f"cannot read: {exc.strerror or exc}")
            return b""

    def add_problem(self, text: str) -> None:
        self.problem = text if not self.problem else f"{self.problem}; {text}"

    def read_failed(self, text: str) -> None:
        """The content was not read whole: flagged, never hashed, retried by a rerun."""
        self.add_problem(text)
        self.partial = True


def timestamp(seconds: float | int | None) -> datetime | None:
    """An epoch time as aware UTC; 0 and out-of-range values mean "not recorded"."""
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def spool_dir() -> Path:
    """One private directory per process for spooled members, under the system temp dir."""
    global _SPOOL_DIR
    if _SPOOL_DIR is None or not _SPOOL_DIR.exists():
        _SPOOL_DIR = Path(tempfile.mkdtemp(prefix="vigil-spool-"))
    return _SPOOL_DIR


_SPOOL_DIR: Path | None = None


def remove_spool_dir() -> None:
    global _SPOOL_DIR
    if _SPOOL_DIR is not None:
        shutil.rmtree(_SPOOL_DIR, ignore_errors=True)
        _SPOOL_DIR = None


def read_limited(
    stream: BinaryIO, expected_bytes: int, limit_bytes: int
) -> tuple[Content, str | None]:
    """Read a stream into memory, or into a spool file when it is large.

    Reads at most ``limit_bytes``. A read error (a bad CRC, a truncated stream, a full spool
    disk) is returned as text; the caller marks the member ``partial``, so the prefix read so
    far is never taken for the member's content.
    """
    chunks: list[bytes] = []
    total = 0
    error: str | None = None
    out: BinaryIO | None = None
    spool: Path | None = None
    try:
        while total < limit_bytes:
            chunk = stream.read(min(READ_CHUNK_BYTES, limit_bytes - total))
            if not chunk:
                break
            total += len(chunk)
            if out is None and (total > SPOOL_BYTES or expected_bytes > SPOOL_BYTES):
                fd, name = tempfile.mkstemp(dir=spool_dir(), suffix=".member")
                spool = Path(name)
                out = os.fdopen(fd, "wb")
                for kept in chunks:
                    out.write(kept)
                chunks = []
            if out is not None:
                out.write(chunk)
            else:
                chunks.append(chunk)
    except (OSError, EOFError, ValueError, RuntimeError) as exc:
        error = f"read stopped after {total} bytes: {exc}"
    except Exception as exc:  # zlib.error, zipfile.BadZipFile, lzma/bz2 errors
        error = f"read stopped after {total} bytes: {type(exc).__name__}: {exc}"
    finally:
        if out is not None:
            out.close()
    if spool is not None:
        return Content(path=spool, temporary=True), error
    return Content(data=b"".join(chunks)), error
