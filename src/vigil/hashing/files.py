"""Everything Vigil knows about one file's content: digests, type, PDQ, video frames, EXIF.

This is the one entry point triage and ``vigil hash`` use. It promises that a file that can
be read always gets its digests: a corrupt image, a decompression bomb or a broken video
only sets ``error``, never raises, because the digests alone still match known material.
Only a file that cannot be read at all raises ``BadInput``.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vigil.errors import BadInput
from vigil.hashing import digests as digesting
from vigil.hashing.digests import Digests, digest_bytes, digest_stream
from vigil.hashing.exif import ExifInfo, exif_from_image
from vigil.hashing.mime import is_image_type, is_video_type, mime_from_content
from vigil.hashing.pdq import ImageHashError, open_image, pdq_of_opened
from vigil.hashing.video import VideoFrame, VideoHashError, hash_video

# Image types that are not raster pictures: no PDQ, and not an error either.
_NOT_RASTER = frozenset({"image/svg+xml"})

MediaSource = bytes | Path | BinaryIO


@dataclass(frozen=True)
class FileHashes:
    size_bytes: int
    md5: str
    sha1: str
    sha256: str
    mime: str | None
    pdq: str | None
    pdq_quality: int | None
    video_frames: list[VideoFrame] | None
    exif: ExifInfo | None
    error: str | None  # set => not fully processed (the digests are still right)
    pdq_dihedral: tuple[str, ...] = ()  # the 7 other rotations and mirrors of the stored pixels

    @property
    def is_image(self) -> bool:
        return is_image_type(self.mime)

    @property
    def is_video(self) -> bool:
        return is_video_type(self.mime)


def hash_file(path: Path) -> FileHashes:
    """Hash a file on disk, reading it once."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size <= digesting.KEEP_IN_MEMORY_BYTES:
                digests = digest_bytes(handle.read())
            else:
                digests = digest_stream(handle)
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return describe(digests, digests.content if digests.content is not None else path)


def hash_stream(stream: BinaryIO, name: str) -> FileHashes:
    """Hash a stream that may not be re-readable (an archive member); large ones spool to disk."""
    with tempfile.TemporaryFile(prefix="vigil-hash-") as spool:
        try:
            digests = digest_stream(stream, spill_to=spool)
        except OSError as exc:
            raise BadInput(f"cannot read: {exc.strerror or exc}", source=name) from exc
        if digests.content is not None:
            return describe(digests, digests.content)
        spool.seek(0)
        return describe(digests, spool)


CRASHED = "hashing crashed its worker process: digests only, content not decoded"


def undecoded(digests: Digests) -> FileHashes:
    """The digests and type of content that is not to be decoded (it crashed the process
    that tried): the digests still match known material."""
    return FileHashes(
        size_bytes=digests.size_bytes,
        md5=digests.md5,
        sha1=digests.sha1,
        sha256=digests.sha256,
        mime=mime_from_content(digests.head),
        pdq=None,
        pdq_quality=None,
        video_frames=None,
        exif=None,
        error=CRASHED,
    )


def undecoded_file(path: Path) -> FileHashes:
    """``undecoded`` of a file on disk, read once and not kept. OSError propagates: the
    caller says which file it was."""
    with path.open("rb") as stream:
        return undecoded(digest_stream(stream, keep_bytes=0))


def describe(digests: Digests, media: MediaSource) -> FileHashes:
    """Add type, PDQ, video frames and EXIF to ``digests``; ``media`` is the same content."""
    mime = mime_from_content(digests.head)
    pdq = quality = exif = error = None
    dihedral: tuple[str, ...] = ()
    frames: list[VideoFrame] | None = None
    if mime.startswith("image/") and mime not in _NOT_RASTER:
        try:
            with open_image(media) as image:
                exif = exif_from_image(image)
                digest = pdq_of_opened(image)
            pdq, quality, dihedral = digest.pdq, digest.quality, digest.dihedral
        except ImageHashError as exc:
            error = str(exc)
    elif mime.startswith("video/"):
        try:
            frames = hash_video(media)
        except VideoHashError as exc:
            frames, error = exc.frames, str(exc)
    return FileHashes(
        size_bytes=digests.size_bytes,
        md5=digests.md5,
        sha1=digests.sha1,
        sha256=digests.sha256,
        mime=mime,
        pdq=pdq,
        pdq_quality=quality,
        video_frames=frames,
        exif=exif,
        error=error,
        pdq_dihedral=dihedral,
    )
