"""A seized folder (an exported tree, a mounted copy): every regular file under it.

Walks in sorted order so two runs see the same members in the same order. Symbolic links
and special files are not regular files: they are not followed and not counted, so a link
pointing outside the evidence can never pull in a file from elsewhere. A directory that
cannot be listed is reported, and the walk goes on.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from vigil.evidence.members import Member, Refusal, timestamp
from vigil.evidence.names import printable


def walk_folder(root: Path, refusals: list[Refusal]) -> Iterator[Member]:
    for relative, path, info in _regular_files(root, "", refusals):
        yield Member(
            path=relative,
            size_bytes=info.st_size,
            modified_at=timestamp(info.st_mtime),
            created_at=timestamp(getattr(info, "st_birthtime", None)),
            accessed_at=timestamp(info.st_atime),
            local_path=Path(path),
        )


def _regular_files(
    directory: str | Path, prefix: str, refusals: list[Refusal]
) -> Iterator[tuple[str, str, os.stat_result]]:
    """(path relative to the root, path on disk, its stat) for every regular file."""
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        refusals.append(Refusal(prefix or ".", f"cannot list directory: {exc.strerror or exc}"))
        return
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            refusals.append(Refusal(relative, f"cannot stat: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _regular_files(entry.path, f"{relative}/", refusals)
        elif stat.S_ISREG(info.st_mode):
            yield relative, entry.path, info


def folder_manifest_digest(root: Path) -> tuple[str, int]:
    """A digest of the tree's listing (paths, sizes, times) and its total size.

    A folder has no single byte stream to hash; this tells whether the tree changed since a
    completed run without reading every file twice. It is not the exhibit's identity: two
    devices can list alike (see ``vigil.workflows.media.exhibits``). It reads the listing
    alone, without making members, as every triage of a folder walks it once more for this.
    """
    digest = hashlib.sha256()
    total = 0
    for relative, _path, info in _regular_files(root, "", []):
        modified_at = timestamp(info.st_mtime)
        mtime = modified_at.isoformat() if modified_at else ""
        digest.update(f"{printable(relative)}\0{info.st_size}\0{mtime}\n".encode())
        total += info.st_size
    return digest.hexdigest(), total
