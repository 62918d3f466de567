"""Zip and tar archives, nested, read as streams: never extracted to disk.

``expand`` yields an archive's members (recursing into archives inside it) and then the
archive itself, so that the archive can carry what happened inside it (a refused member, a
bomb) as its ``problem``. Guards, all decided before a member is read:

- a member path that escapes (absolute, a drive letter, a ``..`` component) is refused and
  reported; so is a symbolic or hard link whose target escapes. Links are not regular files
  and are never followed;
- a zip whose declared sizes expand beyond ``Limits.max_ratio`` (per member or in total, which
  also catches overlapping-entry bombs) is not expanded at all; a compressed tar stops at
  the first member whose header claims such a ratio;
- nesting deeper than ``Limits.max_depth`` is not expanded (archive quines).

Office and OpenDocument packages and Java archives are zips, but they are documents: they
count as one file and are not expanded.
"""

from __future__ import annotations

import posixpath
import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from vigil.evidence.members import Content, Limits, Member, Refusal, read_limited, timestamp

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
COMPRESSED_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_DRIVE = re.compile(r"^[A-Za-z]:")
_DOCUMENT_MARKERS = (
    "[Content_Types].xml",
    "mimetype",
    "META-INF/MANIFEST.MF",
    "AndroidManifest.xml",
)


@dataclass
class ExpandBudget:
    """Bytes decompressed so far under one top-level archive, shared by nested levels."""

    expanded_bytes: int = 0


def archive_kind(member: Member) -> str | None:
    """'zip' or 'tar' by content (never by name), else None."""
    head = member.head(512)
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(COMPRESSED_MAGICS) and _is_compressed_tar(member.load()):
        return "tar"
    return None


def _is_compressed_tar(content: Content) -> bool:
    try:
        with content.open() as raw, tarfile.open(fileobj=raw, mode="r|*") as archive:
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return False
    except Exception:  # zlib/lzma/bz2 errors on a corrupt stream: not a tar we can read
        return False


def escapes(name: str) -> bool:
    """True when a member name would land outside the archive's own root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return True
    return ".." in name.split("/")


def _link_escapes(member_name: str, target: str) -> bool:
    target = target.replace("\\", "/")
    if target.startswith("/") or _DRIVE.match(target):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_name), target))
    return joined == ".." or joined.startswith("../")


def expand(
    member: Member,
    limits: Limits,
    refusals: list[Refusal],
    depth: int = 0,
    budget: ExpandBudget | None = None,
) -> Iterator[Member]:
    """Yield the archive members inside ``member`` (recursively), then ``member`` itself."""
    kind = archive_kind(member)
    if kind is not None:
        if depth >= limits.max_depth:
            member.add_problem(
                f"archive nested deeper than {limits.max_depth} levels: not expanded"
            )
        else:
            budget = budget or ExpandBudget()
            member.archive_kind = kind
            walker = _zip_members if kind == "zip" else _tar_members
            for inner in walker(member, limits, refusals, budget):
                yield from expand(inner, limits, refusals, depth + 1, budget)
    yield member


class _Names:
    """Member paths must be unique within the evidence; repeated names get a suffix."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.seen: set[str] = set()

    def path(self, name: str) -> str:
        name = name.replace("\\", "/")
        while name.startswith("./"):
            name = name[2:]
        candidate, number = name, 1
        while candidate in self.seen:
            number += 1
            candidate = f"{name}#{number}"
        self.seen.add(candidate)
        return f"{self.prefix}!/{candidate}"


def _refuse(member: Member, refusals: list[Refusal], path: str, reason: str) -> None:
    refusals.append(Refusal(path, reason))
    member.add_problem(f"refused {path}: {reason}")


def _open_archive(archive: Member) -> BinaryIO | None:
    try:
        return archive.load().open()
    except OSError as exc:
        archive.add_problem(f"cannot read archive: {exc.strerror or exc}")
        return None


# --- zip -----------------------------------------------------------------------------------


def _zip_members(
    archive: Member, limits: Limits, refusals: list[Refusal], budget: ExpandBudget
) -> Iterator[Member]:
    stream = _open_archive(archive)
    if stream is None:
        return
    with stream:
        try:
            zf = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            archive.add_problem(f"corrupt zip: {exc}")
            return
        with zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
            if any(marker in names for marker in _DOCUMENT_MARKERS):
                archive.archive_kind = None  # a document package, not a container
                return
            if not _zip_sizes_sane(archive, infos, limits, budget, refusals):
                return
            yield from _zip_entries(archive, zf, infos, refusals)


def _zip_sizes_sane(
    archive: Member,
    infos: list[zipfile.ZipInfo],
    limits: Limits,
    budget: ExpandBudget,
    refusals: list[Refusal],
) -> bool:
    declared = sum(info.file_size for info in infos)
    archive_bytes = max(archive.size_bytes, 1)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_member_bytes or (
            info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio
        ):
            reason = f"decompression bomb: {info.filename} expands {ratio:,.0f}:1"
            _refuse(archive, refusals, archive.path, f"{reason}; archive not expanded")
            return False
    if declared > limits.ratio_floor_bytes and declared / archive_bytes > limits.max_ratio:
        ratio = declared / archive_bytes
        reason = f"decompression bomb: {len(infos)} members expand {ratio:,.0f}:1 in total"
        _refuse(archive, refusals, archive.path, f"{reason}; archive not expanded")
        return False
    if budget.expanded_bytes + declared > limits.max_expanded_bytes:
        _refuse(archive, refusals, archive.path, "expands beyond the size limit; not expanded")
        return False
    budget.expanded_bytes += declared
    return True


def _zip_entries(
    archive: Member, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], refusals: list[Refusal]
) -> Iterator[Member]:
    names = _Names(archive.path)
    for info in infos:
        display = f"{archive.path}!/{info.filename}"
        if escapes(info.filename):
            _refuse(archive, refusals, display, "path escapes the archive; not extracted")
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = _read_small(zf, info)
            if _link_escapes(info.filename, target):
                _refuse(archive, refusals, display, f"link points outside the archive: {target}")
            continue
        if info.is_dir():
            continue
        member = Member(
            path=names.path(info.filename),
            size_bytes=info.file_size,
            modified_at=_zip_time(info),
        )
        if info.flag_bits & 0x1:
            member.problem = "encrypted archive member: content not readable"
            member.reader = None
            member.unreadable = True
        else:
            member.reader = _zip_reader(zf, info, member)
        yield member


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    try:
        with zf.open(info) as handle:
            return handle.read(4096).decode("utf-8", "replace")
    except Exception:  # a broken link entry: report it as an unreadable target
        return "<unreadable>"


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo, member: Member):
    def read() -> Content:
        try:
            handle: BinaryIO = zf.open(info)  # type: ignore[assignment]
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            member.add_problem(f"cannot open archive member: {exc}")
            member.unreadable = True
            return Content(data=b"")
        with handle:
            content, error = read_limited(handle, info.file_size, info.file_size + 1)
        if error:
            member.read_failed(error)
        return content

    return read


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=UTC)
    except ValueError:
        return None


# --- tar -----------------------------------------------------------------------------------


class _CountingReader:
    """Counts compressed bytes consumed, so a tar's expansion ratio can be watched."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.consumed += len(data)
        return data


def _tar_members(
    archive: Member, limits: Limits, refusals: list[Refusal], budget: ExpandBudget
) -> Iterator[Member]:
    raw = _open_archive(archive)
    if raw is None:
        return
    counter = _CountingReader(raw)
    names = _Names(archive.path)
    try:
        with raw, tarfile.open(fileobj=counter, mode="r|*") as tar:  # type: ignore[call-overload]
            for info in tar:
                member = _tar_member(archive, tar, info, names, limits, refusals, budget, counter)
                if member is False:
                    return
                if isinstance(member, Member):
                    yield member
                    member.load()  # the stream moves on: read it now if the caller did not
    except Exception as exc:  # tarfile, zlib, lzma, bz2 and EOF errors on a corrupt stream
        archive.add_problem(f"corrupt or truncated tar: {type(exc).__name__}: {exc}")


def _tar_member(
    archive: Member,
    tar: tarfile.TarFile,
    info: tarfile.TarInfo,
    names: _Names,
    limits: Limits,
    refusals: list[Refusal],
    budget: ExpandBudget,
    counter: _CountingReader,
) -> Member | bool | None:
    """The member for one header; None to skip it; False to stop expanding (a bomb)."""
    display = f"{archive.path}!/{info.name}"
    if escapes(info.name):
        _refuse(archive, refusals, display, "path escapes the archive; not extracted")
        return None
    if info.issym() or info.islnk():
        if _link_escapes(info.name, info.linkname) or (info.islnk() and escapes(info.linkname)):
            _refuse(archive, refusals, display, f"link points outside the archive: {info.linkname}")
        return None
    if not info.isreg():
        return None
    expanded = info.offset_data + info.size
    ratio = expanded / max(counter.consumed, 1)
    if info.size > limits.max_member_bytes or (
        expanded > limits.ratio_floor_bytes and ratio > limits.max_ratio
    ):
        reason = f"decompression bomb: {info.name} expands {ratio:,.0f}:1"
        _refuse(archive, refusals, archive.path, f"{reason}; expansion stopped")
        return False
    if budget.expanded_bytes + info.size > limits.max_expanded_bytes:
        _refuse(archive, refusals, archive.path, "expands beyond the size limit; stopped")
        return False
    budget.expanded_bytes += info.size
    member = Member(
        path=names.path(info.name), size_bytes=info.size, modified_at=timestamp(info.mtime)
    )

    def read() -> Content:
        handle = tar.extractfile(info)
        if handle is None:
            return Content(data=b"")
        content, error = read_limited(handle, info.size, info.size)  # type: ignore[arg-type]
        if error:
            member.read_failed(error)
        elif _content_size(content) < info.size:
            member.read_failed(f"truncated: {_content_size(content)} of {info.size} bytes")
        return content

    member.reader = read
    return member


def _content_size(content: Content) -> int:
    if content.data is not None:
        return len(content.data)
    return content.path.stat().st_size if content.path else 0
