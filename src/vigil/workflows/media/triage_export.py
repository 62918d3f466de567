"""Exporting a case's files as VICS 2.0 ``#Cases``, for another unit's tools.

Carries hashes and metadata only, never media: each distinct File found in the case's
evidence becomes one media object with its digests, PDQ, size, the category of an alert
entry it matched, its series label, and every path it was found at. The export is audited
with the exported file's SHA-256.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.formats.hashrecord import HashRecord
from vigil.store import audit
from vigil.store.db import Actor, Store
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
from vigil.workflows.operation.setup import find_case
from vigil.workflows.sources.provenance import digest_file

EXPORT_FORMATS = ("vics",)


def export_case(
    store: Store, actor: Actor, reference: str, output: Path, export_format: str = "vics"
) -> int:
    """Write the case's files to ``output``; returns how many media were written."""
    if export_format not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {export_format!r}; choose from: vics")
    from vigil.formats.vics import VicsCase, write_vics_cases

    store.require_initialised()
    if not output.parent.is_dir():
        raise UsageError(f"no such directory: {output.parent}")
    with store.transaction() as session:
        case = find_case(session, actor, reference)
        records = list(_case_records(session, case.id))
        count = write_vics_cases(
            output, [VicsCase(case_id=case.reference, name=case.title, media=records)]
        )
        audit.append(
            session,
            actor,
            "case.export",
            "case",
            case.id,
            {"format": export_format, "media": count, "sha256": digest_file(output).sha256},
        )
    return count


def _case_records(session: Session, case_id: int) -> Iterator[HashRecord]:
    paths: dict[int, list[dict[str, str]]] = defaultdict(list)
    for file_id, path in session.execute(
        select(FileInstance.file_id, FileInstance.path)
        .join(Source, Source.id == FileInstance.source_id)
        .where(Source.case_id == case_id)
        .order_by(FileInstance.file_id, FileInstance.path)
    ):
        folder, _, name = path.rpartition("/")
        paths[file_id].append({"FileName": name, "FilePath": folder})
    categories: dict[int, str] = {}
    for file_id, category in session.execute(
        select(Match.file_id, HashEntry.category)
        .join(HashEntry, HashEntry.id == Match.hash_entry_id)
        .join(HashSet, HashSet.id == Match.hash_set_id)
        .where(HashSet.kind == "alert", Match.file_id.in_(list(paths)), Match.kind == "exact")
        .order_by(Match.id)
    ):
        if category is not None:
            categories.setdefault(file_id, category)
    series: dict[int, str] = {}
    for file_id, label in session.execute(
        select(SeriesFile.file_id, Series.label)
        .join(Series, Series.id == SeriesFile.series_id)
        .where(Series.case_id == case_id)
        .order_by(Series.id)
    ):
        series.setdefault(file_id, label)
    for file_id in sorted(paths):
        row = session.get_one(File, file_id)
        frames = [frame["pdq"] for frame in row.video_hash or []]
        extra: dict[str, object] = {"media_files": paths[file_id]}
        if frames:
            extra["video_pdq"] = frames
        if row.mime:
            extra["mime"] = row.mime
        yield HashRecord(
            md5=row.md5,
            sha1=row.sha1,
            sha256=row.sha256,
            pdq=row.pdq,
            media_id=str(file_id),
            category=categories.get(file_id),
            series=series.get(file_id),
            size_bytes=row.size_bytes,
            extra=extra,
        )
