"""Reading seized media as a stream of members, without extracting anything to disk.

``open_evidence(path)`` recognises a folder, a zip or tar archive, or a raw/E01 disk image
(by content), and says so before anything is read further: a path that is none of these is
``BadInput``. ``Evidence.members()`` then yields every regular file found, archive members
included (an archive is followed by the archive itself), in a stable order. What could not
be read is never fatal: it is a member's ``problem``, or a ``Refusal`` in
``Evidence.refusals`` for things that were deliberately not read (escaping paths, bombs).

The evidence is only opened for reading. This package is an engine: it knows nothing of the
store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vigil.errors import BadInput
from vigil.evidence.archives import COMPRESSED_MAGICS, ZIP_MAGICS, expand
from vigil.evidence.folder import folder_manifest_digest, walk_folder
from vigil.evidence.members import (
    Content,
    Limits,
    Member,
    Refusal,
    remove_spool_dir,
    timestamp,
)

__all__ = [
    "Content",
    "Evidence",
    "Limits",
    "Member",
    "Refusal",
    "open_evidence",
    "remove_spool_dir",
]


@dataclass
class Evidence:
    """One evidence item: what it is, how to identify it, and its members."""

    path: Path
    kind: str  # folder | zip | tar | disk
    head: bytes = b""
    limits: Limits = field(default_factory=Limits)
    refusals: list[Refusal] = field(default_factory=list)

    def digest(self) -> tuple[str, int]:
        """SHA-256 and size: of the bytes for a file, of the listing for a folder."""
        if self.kind == "folder":
            return folder_manifest_digest(self.path)
        digests: list[str] = []
        size = 0
        for part in self._parts():
            try:
                with part.open("rb") as handle:
                    digests.append(hashlib.file_digest(handle, "sha256").hexdigest())
                size += part.stat().st_size
            except OSError as exc:
                raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(part)) from exc
        if len(digests) == 1:
            return digests[0], size
        # Segments of one image: the digest of their digests, in segment order.
        return hashlib.sha256("".join(digests).encode()).hexdigest(), size

    def _parts(self) -> list[Path]:
        """An E01 image may be split into segment files (.E01, .E02...): all of them."""
        if self.kind == "disk" and self.path.suffix.upper() == ".E01":
            stem = self.path.with_suffix("")
            parts = sorted(
                p for p in self.path.parent.glob(f"{stem.name}.[Ee]??") if p.suffix[2:].isdigit()
            )
            return parts or [self.path]
        return [self.path]

    def members(self) -> Iterator[Member]:
        self.refusals.clear()
        if self.kind == "folder":
            base = walk_folder(self.path, self.refusals)
        elif self.kind == "disk":
            from vigil.evidence.disk import walk_disk

            base = walk_disk(self.path, self.head, self.refusals)
        else:
            base = iter([self._root_member()])
        for member in base:
            yield from expand(member, self.limits, self.refusals)

    def _root_member(self) -> Member:
        info = self.path.stat()
        return Member(
            path=self.path.name,
            size_bytes=info.st_size,
            modified_at=timestamp(info.st_mtime),
            accessed_at=timestamp(info.st_atime),
            local_path=self.path,
        )


def open_evidence(path: Path, limits: Limits | None = None) -> Evidence:
    """Recognise the evidence at ``path``; BadInput (one line) when it is not readable evidence."""
    limits = limits or Limits()
    if not path.exists():
        raise BadInput("no such file or directory", source=str(path))
    if path.is_dir():
        try:
            next(iter(path.iterdir()), None)
        except OSError as exc:
            raise BadInput(f"cannot read folder: {exc.strerror or exc}", source=str(path)) from exc
        return Evidence(path, "folder", limits=limits)
    if not path.is_file():
        raise BadInput("not a folder, archive or disk image", source=str(path))
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    probe = Member(path=path.name, size_bytes=len(head), local_path=path)
    if head.startswith(ZIP_MAGICS):
        return Evidence(path, "zip", head, limits)
    if len(head) >= 262 and head[257:262] == b"ustar":
        return Evidence(path, "tar", head, limits)
    if head.startswith(COMPRESSED_MAGICS):
        from vigil.evidence.archives import archive_kind

        if archive_kind(probe) == "tar":
            return Evidence(path, "tar", head, limits)
    from vigil.evidence import disk

    if disk.pytsk3 is None:
        raise BadInput(f"not a folder or a zip/tar archive; {disk.INSTALL_HINT}", source=str(path))
    if head.startswith(disk.EWF_MAGIC) or disk.looks_like_disk(path, head):
        return Evidence(path, "disk", head, limits)
    raise BadInput(
        "not a folder, a zip/tar archive, or a disk image with a file system TSK can read",
        source=str(path),
    )
