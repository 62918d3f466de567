"""MD5, SHA-1 and SHA-256 in one read pass.

Evidence files are read once: every chunk feeds all three digests, and small files (the
common case: photos) are kept in memory so the image decoder reads the same bytes instead of
going back to the disk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
# Files up to this size are kept whole so decoders reuse the bytes just hashed.
KEEP_IN_MEMORY_BYTES = 64 << 20
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Digests:
    size_bytes: int
    md5: str
    sha1: str
    sha256: str
    head: bytes  # the first HEAD_BYTES, for content sniffing
    content: bytes | None  # the whole file when it was small enough to keep


def digest_bytes(data: bytes) -> Digests:
    return Digests(
        size_bytes=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        head=data[:HEAD_BYTES],
        content=data,
    )


def digest_stream(
    stream: BinaryIO,
    *,
    keep_bytes: int | None = None,
    spill_to: BinaryIO | None = None,
) -> Digests:
    """Digest everything left in ``stream``; keep the content when it is at most ``keep_bytes``.

    Content too large to keep is written to ``spill_to`` instead (when given), so a stream
    that cannot be re-read (an archive member) can still be decoded afterwards. OSError from
    either file propagates: the caller knows which file it was.
    """
    if keep_bytes is None:
        keep_bytes = KEEP_IN_MEMORY_BYTES
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    kept: list[bytes] | None = []
    head = b""
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        size += len(chunk)
        if kept is not None:
            kept.append(chunk)
            if size > keep_bytes:
                if spill_to is not None:
                    spill_to.writelines(kept)
                kept = None
        elif spill_to is not None:
            spill_to.write(chunk)
    return Digests(
        size_bytes=size,
        md5=md5.hexdigest(),
        sha1=sha1.hexdigest(),
        sha256=sha256.hexdigest(),
        head=head,
        content=b"".join(kept) if kept is not None else None,
    )
