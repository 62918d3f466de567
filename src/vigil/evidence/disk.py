"""Disk images, raw (dd) and EnCase (E01), through The Sleuth Kit (pytsk3) and libewf (pyewf).

This is the optional ``vigil[disk]`` extra: importing this module without it raises a
``UsageError`` that says how to install it. Every file system TSK knows (FAT, NTFS, ext2/3/4,
HFS+, ...) is walked, in each partition of the volume system or, without one, as a single
file system. Deleted entries that still name a file are listed with ``deleted=True`` and
their content is read as far as TSK can recover it; a read that fails is the member's
problem, never the run's. TSK's virtual files ($MBR, $FAT1...) are not files on the media.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vigil.errors import BadInput, UsageError
from vigil.evidence.members import (
    READ_CHUNK_BYTES,
    SPOOL_BYTES,
    Content,
    Member,
    Refusal,
    spool_dir,
    timestamp,
)

EWF_MAGIC = b"EVF\x09\x0d\x0a\xff\x00"
INSTALL_HINT = "disk images need the optional extra: pip install 'vigil[disk]' (pytsk3, pyewf)"

try:
    import pytsk3  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - exercised by the missing-extra test through a flag
    pytsk3 = None


def require_tsk() -> Any:
    if pytsk3 is None:
        raise UsageError(INSTALL_HINT)
    return pytsk3


def _ewf_image(path: Path) -> Any:
    tsk = require_tsk()
    try:
        import pyewf  # type: ignore[import-not-found]
    except ImportError as exc:
        raise UsageError(INSTALL_HINT) from exc

    class EwfImage(tsk.Img_Info):  # type: ignore[misc, name-defined]
        """TSK reads the E01's media through libewf, segment files and all."""

        def __init__(self, handle: Any):
            self._handle = handle
            super().__init__(url="", type=tsk.TSK_IMG_TYPE_EXTERNAL)

        def close(self) -> None:
            self._handle.close()

        def read(self, offset: int, size: int) -> bytes:
            self._handle.seek(offset)
            return self._handle.read(size)

        def get_size(self) -> int:
            return self._handle.get_media_size()

    try:
        handle = pyewf.handle()
        handle.open(pyewf.glob(str(path)))
    except (OSError, RuntimeError) as exc:
        raise BadInput(f"cannot open E01 image: {exc}", source=str(path)) from exc
    return EwfImage(handle)


def open_image(path: Path, head: bytes) -> Any:
    """A TSK image over a raw or E01 file; BadInput when TSK cannot open it."""
    tsk = require_tsk()
    if head.startswith(EWF_MAGIC):
        return _ewf_image(path)
    try:
        return tsk.Img_Info(str(path))
    except (OSError, RuntimeError) as exc:
        raise BadInput(f"cannot open disk image: {exc}", source=str(path)) from exc


def file_systems(image: Any) -> list[tuple[str, Any]]:
    """(path prefix, FS_Info) for each file system TSK can open; empty when there is none."""
    tsk = require_tsk()
    found: list[tuple[str, Any]] = []
    try:
        volumes = tsk.Volume_Info(image)
    except (OSError, RuntimeError):
        volumes = None
    if volumes is not None:
        block = volumes.info.block_size
        for part in volumes:
            if part.flags != tsk.TSK_VS_PART_FLAG_ALLOC or part.len <= 0:
                continue
            try:
                found.append((f"p{part.addr}/", tsk.FS_Info(image, offset=part.start * block)))
            except (OSError, RuntimeError):
                continue
    if not found:
        with contextlib.suppress(OSError, RuntimeError):
            found.append(("", tsk.FS_Info(image, offset=0)))
    return found


def looks_like_disk(path: Path, head: bytes) -> bool:
    try:
        return bool(file_systems(open_image(path, head)))
    except BadInput:
        return False


def walk_disk(path: Path, head: bytes, refusals: list[Refusal]) -> Iterator[Member]:
    image = open_image(path, head)
    systems = file_systems(image)
    if not systems:
        raise BadInput("no file system TSK can read in this disk image", source=str(path))
    for prefix, fs in systems:
        try:
            root = fs.open_dir("/")
        except (OSError, RuntimeError) as exc:
            refusals.append(Refusal(prefix or "/", f"cannot open the root directory: {exc}"))
            continue
        yield from _walk_dir(fs, root, prefix, set(), refusals, deleted_dir=False)


def _walk_dir(
    fs: Any,
    directory: Any,
    prefix: str,
    seen_dirs: set[int],
    refusals: list[Refusal],
    *,
    deleted_dir: bool,
) -> Iterator[Member]:
    tsk = require_tsk()
    used: set[str] = set()
    entries = []
    try:
        for entry in directory:
            name = entry.info.name.name.decode("utf-8", "replace")
            if name not in (".", ".."):
                entries.append((name, entry))
    except (OSError, RuntimeError) as exc:  # a damaged directory: keep what was listed
        refusals.append(Refusal(prefix or "/", f"directory listing stopped: {exc}"))
    entries.sort(key=lambda pair: (pair[0], pair[1].info.name.meta_addr))
    for name, entry in entries:
        meta = entry.info.meta
        if meta is None:
            continue
        deleted = deleted_dir or bool(entry.info.name.flags & tsk.TSK_FS_NAME_FLAG_UNALLOC)
        relative = _unique(f"{prefix}{name}", used, entry.info.name.meta_addr)
        if meta.type == tsk.TSK_FS_META_TYPE_DIR or (
            meta.type == tsk.TSK_FS_META_TYPE_VIRT_DIR and name == "$OrphanFiles"
        ):
            if meta.addr in seen_dirs:
                continue
            seen_dirs.add(meta.addr)
            try:
                child = entry.as_directory()
            except (OSError, RuntimeError) as exc:
                refusals.append(Refusal(relative, f"cannot list directory: {exc}"))
                continue
            orphan = meta.type == tsk.TSK_FS_META_TYPE_VIRT_DIR
            yield from _walk_dir(
                fs, child, f"{relative}/", seen_dirs, refusals, deleted_dir=deleted or orphan
            )
        elif meta.type == tsk.TSK_FS_META_TYPE_REG:
            member = Member(
                path=relative,
                size_bytes=int(meta.size),
                modified_at=timestamp(meta.mtime),
                created_at=timestamp(getattr(meta, "crtime", 0)),
                accessed_at=timestamp(meta.atime),
                deleted=deleted,
            )
            member.reader = _reader(entry, member)
            yield member


def _unique(path: str, used: set[str], address: int) -> str:
    if path in used:
        path = f"{path}#{address}"
    used.add(path)
    return path


def _reader(entry: Any, member: Member):
    def read() -> Content:
        size = member.size_bytes
        chunks: list[bytes] = []
        offset = 0
        spool = None
        out = None
        try:
            while offset < size:
                chunk = entry.read_random(offset, min(READ_CHUNK_BYTES, size - offset))
                if not chunk:
                    break
                offset += len(chunk)
                if out is None and size > SPOOL_BYTES:
                    handle, name = tempfile.mkstemp(dir=spool_dir(), suffix=".member")
                    spool = Path(name)
                    out = os.fdopen(handle, "wb")
                if out is not None:
                    out.write(chunk)
                else:
                    chunks.append(chunk)
        except (OSError, RuntimeError) as exc:
            member.read_failed(f"read stopped after {offset} of {size} bytes: {exc}")
        finally:
            if out is not None:
                out.close()
        if offset < size and member.problem is None:
            member.read_failed(f"truncated: recovered {offset} of {size} bytes")
        if spool is not None:
            return Content(path=spool, temporary=True)
        return Content(data=b"".join(chunks))

    return read
