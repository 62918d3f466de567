"""The files page: every file the agency holds, by what triage made of it.

A file's category is the one the triage summary counts it under: ``alert`` (an exact match in
an alert set), ``near`` (a PDQ or video match to an alert entry, no exact one), ``ignorable``
(an exact match in an ignorable set only), ``new`` (an image with no match at all) and
``other``. ``series`` filters the files placed in a series for victim identification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, select
from sqlalchemy.orm import Session

from vigil.errors import NotFound
from vigil.server.web.queries.listing import Page, Sort, paginate
from vigil.server.web.queries.scope import file_visible, reachable_source_ids
from vigil.store.db import Actor
from vigil.store.models import (
    File,
    FileInstance,
    HashEntry,
    HashSet,
    Match,
    Series,
    SeriesFile,
    Source,
)

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


@dataclass(frozen=True)
class FileRow:
    sha256: str
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
    ).where(file_visible(actor, File.id), File.sha256.is_not(None))
    if category in FILTERS:
        query = query.where(FILTERS[category])
    query = query.order_by(*sort.order(SORTS, File.id))
    result = paginate(session, query, page)
    result.rows = [
        FileRow(
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


def file_detail(session: Session, actor: Actor, sha256: str) -> dict[str, Any]:
    """Everything known about one file except its content: hashes, matches, EXIF, where it
    was found, and its series."""
    row = session.execute(
        select(File, CATEGORY_COLUMN).where(
            File.sha256 == sha256.lower(), file_visible(actor, File.id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no file {sha256}")
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
        "viewable": (file.mime or "").startswith(("image/", "video/", "audio/")),
    }
