"""The files page: every file the agency holds, by what triage made of it.

A file's category is the one the triage summary counts it under: ``alert`` (an exact match in
an alert set), ``near`` (a PDQ or video match to an alert entry, no exact one), ``ignorable``
(an exact match in an ignorable set only), ``new`` (an image with no match at all) and
``other``. ``series`` filters the files placed in a series for victim identification.

A file is listed when it was found on a device in reach or a report or message in reach names
it (a provider report may name a file by MD5 alone); its page is keyed by the strongest hash
it has (``file_key``), so every file a subject sent or received opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from vigil.errors import NotFound
from vigil.server.web.queries.listing import Page, Sort, paginate
from vigil.server.web.queries.scope import file_visible, reachable_source_ids
from vigil.store.db import Actor
from vigil.store.extras import EventExtra
from vigil.store.models import (
    Event,
    File,
    FileInstance,
    HashEntry,
    HashSet,
    Match,
    Selector,
    Series,
    SeriesFile,
    Source,
)

HASH_LENGTHS = {64: "sha256", 40: "sha1", 32: "md5"}
FILE_KEY = "^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$"
REPORTS_LIMIT = 100

CATEGORIES = ("alert", "near", "ignorable", "new", "series")


def _matched(kind: str, set_kind: str) -> Any:
    return exists(
        select(Match.id)
        .join(HashSet, HashSet.id == Match.hash_set_id)
        .where(Match.file_id == File.id, Match.kind == kind, HashSet.kind == set_kind)
    )


_ANY_MATCH = exists(select(Match.id).where(Match.file_id == File.id))
_IN_SERIES = exists(select(SeriesFile.id).where(SeriesFile.file_id == File.id))
_IS_ALERT = _matched("exact", "alert")
_IS_NEAR = and_(~_IS_ALERT, _matched("near", "alert"))
_IS_IGNORABLE = and_(~_IS_ALERT, ~_IS_NEAR, _matched("exact", "ignorable"))
_IS_NEW = and_(File.mime.like("image/%"), ~_ANY_MATCH)
CATEGORY_COLUMN = case(
    (_IS_ALERT, "alert"),
    (_IS_NEAR, "near"),
    (_IS_IGNORABLE, "ignorable"),
    (_IS_NEW, "new"),
    else_="other",
).label("category")
FILTERS = {
    "alert": _IS_ALERT,
    "near": _IS_NEAR,
    "ignorable": _IS_IGNORABLE,
    "new": _IS_NEW,
    "series": _IN_SERIES,
}
SORTS: dict[str, Any] = {
    "seen": File.first_seen_at,
    "size": File.size_bytes,
    "type": File.mime,
    "camera": File.exif_model,
    "sha256": File.sha256,
}


def file_key(sha256: str | None, md5: str | None = None, sha1: str | None = None) -> str:
    """What a file's page is addressed by: its strongest hash (SHA-256, else the SHA-1 or the
    MD5 a report gave)."""
    return sha256 or sha1 or md5 or ""


@dataclass(frozen=True)
class FileRow:
    key: str
    sha256: str | None
    md5: str | None
    mime: str | None
    size_bytes: int | None
    camera: str | None
    category: str
    where: str | None


def list_files(
    session: Session,
    actor: Actor,
    *,
    category: str | None,
    page: int,
    sort: Sort,
) -> Page:
    where_found = (
        select(FileInstance.path)
        .where(
            FileInstance.file_id == File.id, FileInstance.source_id.in_(reachable_source_ids(actor))
        )
        .order_by(FileInstance.id)
        .limit(1)
        .scalar_subquery()
    )
    query = select(
        File.sha256,
        File.md5,
        File.mime,
        File.size_bytes,
        File.exif_make,
        File.exif_model,
        CATEGORY_COLUMN,
        where_found,
        File.sha1,
    ).where(file_visible(actor, File.id))
    if category in FILTERS:
        query = query.where(FILTERS[category])
    query = query.order_by(*sort.order(SORTS, File.id))
    result = paginate(session, query, page)
    result.rows = [
        FileRow(
            key=file_key(row[0], row[1], row[8]),
            sha256=row[0],
            md5=row[1],
            mime=row[2],
            size_bytes=row[3],
            camera=" ".join(part for part in (row[4], row[5]) if part) or None,
            category=row[6],
            where=row[7],
        )
        for row in result.rows
    ]
    return result


def file_detail(session: Session, actor: Actor, key: str) -> dict[str, Any]:
    """Everything known about one file except its content: hashes, matches, EXIF, where it
    was found (on a device, or named in a report or message), and its series.

    ``key`` is a SHA-256, SHA-1 or MD5 (by its length). Two files may share a weaker hash (a
    report's MD5 that another source's different bytes also have): a key addresses the file
    whose strongest hash it is, as ``file_key`` made it, before any with a stronger one."""
    column = HASH_LENGTHS.get(len(key))
    if column is None:
        raise NotFound(f"no file {key}")
    row = session.execute(
        select(File, CATEGORY_COLUMN)
        .where(getattr(File, column) == key.lower(), file_visible(actor, File.id))
        .order_by(File.sha256.is_not(None), File.sha1.is_not(None), File.id)
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"no file {key}")
    file, category = row
    matches = session.execute(
        select(Match, HashSet.name, HashSet.kind, HashEntry.category, HashEntry.series)
        .join(HashSet, HashSet.id == Match.hash_set_id)
        .join(HashEntry, HashEntry.id == Match.hash_entry_id)
        .where(Match.file_id == file.id)
        .order_by(Match.kind, HashSet.name)
    ).all()
    places = session.execute(
        select(FileInstance, Source.original_name, Source.kind, Source.sha256)
        .join(Source, Source.id == FileInstance.source_id)
        .where(
            FileInstance.file_id == file.id,
            FileInstance.source_id.in_(reachable_source_ids(actor)),
        )
        .order_by(FileInstance.id)
    ).all()
    series = session.execute(
        select(Series.id, Series.label, Series.status)
        .join(SeriesFile, SeriesFile.series_id == Series.id)
        .where(SeriesFile.file_id == file.id)
    ).all()
    return {
        "file": file,
        "key": file_key(file.sha256, file.md5, file.sha1),
        "category": category,
        "known": any(m.kind == "exact" for m, *_ in matches),
        "matches": [
            {
                "kind": m.kind,
                "distance_bits": m.distance_bits,
                "set": name,
                "set_kind": set_kind,
                "category": entry_category,
                "series": entry_series,
            }
            for m, name, set_kind, entry_category, entry_series in matches
        ],
        "places": [
            {
                "path": instance.path,
                "source": source_name,
                "source_kind": source_kind,
                "source_sha256": source_sha256,
                "deleted": instance.deleted,
                "carved": instance.carved,
                "modified_at": instance.modified_at,
            }
            for instance, source_name, source_kind, source_sha256 in places
        ],
        "series": [{"id": sid, "label": label, "status": status} for sid, label, status in series],
        # Only a copy on a seized device can be shown; a report names a file, never holds it.
        "viewable": bool(places)
        and file.sha256 is not None
        and (file.mime or "").startswith(("image/", "video/", "audio/")),
        **_named_in(session, actor, file.id),
    }


def _named_in(session: Session, actor: Actor, file_id: int) -> dict[str, Any]:
    """The reports and messages in reach that name the file: which document (its kind, name
    and SHA-256), the report's id and the name the file had there, who sent it to whom."""
    sender, recipient = aliased(Selector), aliased(Selector)
    in_reach = (Event.file_id == file_id, Event.source_id.in_(reachable_source_ids(actor)))
    total = session.scalar(select(func.count(Event.id)).where(*in_reach)) or 0
    rows = session.execute(
        select(
            Event,
            Source.kind,
            Source.original_name,
            Source.sha256,
            sender.display,
            sender.platform,
            recipient.display,
        )
        .join(Source, Source.id == Event.source_id)
        .outerjoin(sender, sender.id == Event.actor_id)
        .outerjoin(recipient, recipient.id == Event.target_id)
        .where(*in_reach)
        .order_by(Event.occurred_at.nulls_last(), Event.id)
        .limit(REPORTS_LIMIT)
    ).all()
    reports = []
    for event, kind, name, digest, sent_by, platform, sent_to in rows:
        extra = EventExtra.of(event.extra)
        reports.append(
            {
                "at": event.occurred_at,
                "kind": event.kind,
                "source_kind": kind,
                "source": name,
                "source_sha256": digest,
                "report_id": extra.report_id,
                "file_name": extra.file_name,
                "provider_file_id": extra.provider_file_id,
                "provider_category": extra.provider_category,
                "sender": f"{sent_by} on {platform}" if sent_by and platform else sent_by,
                "recipient": sent_to or event.room or ", ".join(extra.intended_recipients),
            }
        )
    return {"reports": reports, "reports_total": total}
