"""The store side of triage: batched File/FileInstance/Match writes, series, and the counts.

Each batch is one transaction with its audit entry, so a batch is either wholly committed or
absent; a resumed run skips exactly the FileInstances committed for this source. Files are
content, deduplicated by SHA-256 (a row known only by MD5, from a provider report, is
completed rather than duplicated). Counts are always recomputed from the rows, never kept in
memory, which is what makes a resumed run report what an uninterrupted one would.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from vigil.evidence import Member
from vigil.evidence.names import printable, raw_bytes
from vigil.hashing import FileHashes
from vigil.matching import Matcher
from vigil.store import audit
from vigil.store.bulk import (
    bulk_insert,
    driver_rows,
    insert_returning,
    placeholder,
    select_in,
)
from vigil.store.db import Actor
from vigil.store.models import (
    File,
    FileInstance,
    HashSet,
    Match,
    Series,
    SeriesFile,
    Source,
    utcnow,
)
from vigil.triage.series import SeriesCandidate, SeriesGroup, group_series
from vigil.triage.summary import FoundFile
from vigil.workflows.media.matching import match_files

FILE = File.__tablename__


@dataclass
class Hashed:
    """One member and what hashing made of it (``hashes`` None: nothing could be read).

    ``problem`` is this instance's (a read error, a refused member): it is stored on the
    FileInstance, never on the content-addressed File, whose ``error`` says only what
    decoding that content found. ``read_complete`` False: the bytes were not read whole.
    """

    member: Member
    hashes: FileHashes | None
    problem: str | None
    extension_mismatch: bool = False
    read_complete: bool = True

    @property
    def path(self) -> str:
        return printable(self.member.path)


@dataclass(frozen=True)
class Committed:
    """A FileInstance an earlier run wrote: what a resumed run compares the member with."""

    size_bytes: int | None
    modified_at: datetime | None
    read_complete: bool


def committed_instances(session: Session, source_id: int) -> dict[str, Committed]:
    rows = session.execute(
        select(
            FileInstance.path,
            File.size_bytes,
            FileInstance.modified_at,
            FileInstance.read_complete,
        )
        .join(File, File.id == FileInstance.file_id)
        .where(FileInstance.source_id == source_id)
    )
    return {path: Committed(size, modified, whole) for path, size, modified, whole in rows}


def unchanged(member: Member, committed: Committed | None) -> bool:
    """Committed by an earlier run, read whole, and the same size and time as now."""
    return (
        committed is not None
        and committed.read_complete
        and committed.size_bytes == member.size_bytes
        and committed.modified_at == member.modified_at
    )


def _file_facts(item: Hashed) -> dict[str, Any]:
    hashes = item.hashes
    if hashes is None:  # a File of this instance alone, never shared: no content hash
        return {"size_bytes": item.member.size_bytes, "error": item.problem}
    exif = hashes.exif
    frames = hashes.video_frames
    return {
        "sha256": hashes.sha256,
        "md5": hashes.md5,
        "sha1": hashes.sha1,
        "size_bytes": hashes.size_bytes,
        "mime": hashes.mime,
        "pdq": hashes.pdq,
        "pdq_quality": hashes.pdq_quality,
        "pdq_dihedral": list(hashes.pdq_dihedral) or None,
        "video_hash": (
            [{"ts": f.ts, "pdq": f.pdq, "quality": f.quality} for f in frames] if frames else None
        ),
        "exif_make": _short(exif.make if exif else None),
        "exif_model": _short(exif.model if exif else None),
        "exif_serial": _short(exif.serial if exif else None),
        "exif_time": exif.taken_at if exif else None,
        "gps_lat": exif.gps_lat if exif else None,
        "gps_lon": exif.gps_lon if exif else None,
        "error": hashes.error,
    }


def _short(value: str | None) -> str | None:
    return value[:100] if value else value


def _file_ids(session: Session, items: list[Hashed]) -> list[int]:
    """The File id for each item, creating or completing File rows as needed."""
    by_sha: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.hashes is not None:
            by_sha.setdefault(item.hashes.sha256, _file_facts(item))
    known: dict[str, int] = {}
    columns = ("id", "sha256", "mime", "error")
    for file_id, sha, mime, error in select_in(session, FILE, columns, [], "sha256", list(by_sha)):
        known[sha] = file_id
        facts = by_sha[sha]
        if mime is None or (error is None and facts["error"]):
            session.execute(update(File).where(File.id == file_id).values(**facts))
    missing = [sha for sha in by_sha if sha not in known]
    md5s = {by_sha[sha]["md5"]: sha for sha in missing}
    rows = select_in(session, FILE, ("id", "md5"), [], "md5", list(md5s), is_null=("sha256",))
    for file_id, md5 in rows:
        sha = md5s.get(md5)
        if sha is not None and sha not in known:
            session.execute(update(File).where(File.id == file_id).values(**by_sha[sha]))
            known[sha] = file_id
    fresh = [by_sha[sha] for sha in by_sha if sha not in known]
    if fresh:
        now = utcnow()
        inserted = [{**facts, "first_seen_at": now} for facts in fresh]
        known.update(insert_returning(session, File, inserted, ("sha256", "id")))
    ids = []
    for item in items:
        if item.hashes is not None:
            ids.append(known[item.hashes.sha256])
        else:  # nothing readable: a File of its own, with only its size and why
            row = File(**_file_facts(item))
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def write_batch(
    session: Session, actor: Actor, source_id: int, matcher: Matcher, items: list[Hashed]
) -> None:
    """Files, their matches and their instances for one batch, with one audit entry."""
    _forget_earlier_reads(session, source_id, [item.path for item in items])
    file_ids = _file_ids(session, items)
    hashed_ids = sorted({fid for fid, item in zip(file_ids, items, strict=True) if item.hashes})
    matches = match_files(session, actor, hashed_ids, matcher)
    bulk_insert(
        session,
        FileInstance,
        [
            {
                "file_id": file_id,
                "source_id": source_id,
                "path": item.path,
                "raw_path": raw_bytes(item.member.path),
                "problem": item.problem,
                "read_complete": item.read_complete,
                "modified_at": item.member.modified_at,
                "created_at": item.member.created_at,
                "accessed_at": item.member.accessed_at,
                "deleted": item.member.deleted,
                "carved": item.member.carved,
                "extension_mismatch": item.extension_mismatch,
            }
            for file_id, item in zip(file_ids, items, strict=True)
        ],
    )
    audit.append(
        session,
        actor,
        "triage.batch",
        "source",
        source_id,
        {
            "files": len(items),
            "first_path": items[0].path,
            "last_path": items[-1].path,
            "matches_written": matches,
            "errors": sum(1 for item in items if item.problem or _decode_error(item)),
        },
    )


def _decode_error(item: Hashed) -> bool:
    return item.hashes is not None and item.hashes.error is not None


def _forget_earlier_reads(session: Session, source_id: int, paths: list[str]) -> None:
    """A member read again (changed since, or not read whole before) replaces its instance.

    The earlier instance's content-less File (one that was never read whole) goes with it.
    """
    conditions = [("source_id", source_id)]
    stale = select_in(
        session, FileInstance.__tablename__, ("id", "file_id"), conditions, "path", paths
    )
    if not stale:  # a first run: nothing read before
        return
    session.execute(delete(FileInstance).where(FileInstance.id.in_([row[0] for row in stale])))
    files = [file_id for _, file_id in stale]
    orphans = [
        row[0] for row in select_in(session, FILE, ("id",), [], "id", files, is_null=("sha256",))
    ]
    if orphans:
        session.execute(delete(File).where(File.id.in_(orphans)))


# --- reading back: counts and series ------------------------------------------------------


@dataclass(frozen=True)
class InstanceRow:
    file_id: int
    found: FoundFile


def found_files(session: Session, source_id: int) -> list[InstanceRow]:
    """Every FileInstance of the source as the count rules see it.

    Two driver-level statements, whatever the number of files: a device holds hundreds of
    thousands, and ORM rows or one ``IN`` list per 500 files cost more than the reading.
    """
    connection = session.connection()
    mark = placeholder(connection)
    instance = FileInstance.__tablename__
    rows = driver_rows(
        connection,
        f"SELECT f.id, f.size_bytes, f.mime, f.error, i.problem FROM {instance} i "
        f"JOIN {FILE} f ON f.id = i.file_id WHERE i.source_id = {mark}",
        (source_id,),
    )
    kinds: dict[int, set[tuple[str, str]]] = defaultdict(set)
    # a semi-join: a file found 60,000 times (the empty file, an icon) is read once per match
    for file_id, match_kind, set_kind in driver_rows(
        connection,
        f"SELECT m.file_id, m.kind, h.kind FROM {Match.__tablename__} m "
        f"JOIN {HashSet.__tablename__} h ON h.id = m.hash_set_id WHERE m.file_id IN "
        f"(SELECT file_id FROM {instance} WHERE source_id = {mark})",
        (source_id,),
    ):
        kinds[file_id].add((set_kind, match_kind))
    result = []
    for file_id, size, mime, error, problem in rows:
        matched = kinds.get(file_id, set())
        result.append(
            InstanceRow(
                file_id,
                FoundFile(
                    size_bytes=size or 0,
                    mime=mime,
                    failed=error is not None or problem is not None,
                    exact_alert=("alert", "exact") in matched,
                    exact_ignorable=("ignorable", "exact") in matched,
                    near=any(kind in ("near", "video") for _, kind in matched),
                ),
            )
        )
    return result


def series_count(session: Session, source_id: int) -> int:
    return len(session.scalars(select(Series.id).where(Series.source_id == source_id)).all())


def write_series(
    session: Session,
    actor: Actor,
    source: Source,
    instances: list[InstanceRow],
) -> list[SeriesGroup]:
    """Group this source's unknown images into Series (replacing an earlier run's).

    Runs in the same transaction as the completion mark, so it happens exactly once.
    """
    unknown_ids = sorted(
        {row.file_id for row in instances if row.found.category == "unknown_image"}
    )
    candidates: list[SeriesCandidate] = []
    key_to_id: dict[str, int] = {}
    columns = ("id", "sha256", "pdq", "pdq_quality", "exif_make", "exif_model", "exif_serial")
    found = sorted(select_in(session, FILE, columns, [], "id", unknown_ids))  # in id order
    for file_id, sha, pdq, quality, make, model, serial in found:
        key = sha or f"file:{file_id:012d}"
        key_to_id[key] = file_id
        candidates.append(SeriesCandidate(key, pdq, quality, make, model, serial))
    groups = group_series(candidates)
    session.execute(delete(Series).where(Series.source_id == source.id))
    for group in groups:
        series = Series(
            label=group.label[:200],
            case_id=source.case_id,
            source_id=source.id,
            camera_serial=group.camera_serial,
            reasons="\n".join(group.reasons),
        )
        session.add(series)
        session.flush()
        session.execute(
            insert(SeriesFile),
            [{"series_id": series.id, "file_id": key_to_id[key]} for key in group.keys],
        )
        audit.append(
            session,
            actor,
            "series.create",
            "series",
            series.id,
            {"label": series.label, "files": len(group.keys), "reasons": list(group.reasons)},
        )
    return groups
