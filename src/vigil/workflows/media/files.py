"""One file by SHA-256: its hashes, type, EXIF, where it was found and what it matches.

Never the content: revealing media is its own audited act. ``source_ids`` is the caller's
scope (the sources the reader may see); instances elsewhere are not listed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from vigil.errors import NotFound
from vigil.store.db import Store
from vigil.store.models import File, FileInstance, HashEntry, HashSet, Match, Source


def describe_file(store: Store, sha256: str, source_ids: Select | None = None) -> dict[str, Any]:
    store.require_initialised()
    with store.reading() as session:
        file = session.scalars(select(File).where(File.sha256 == sha256.lower())).first()
        if file is None:
            raise NotFound(f"no file {sha256}")
        instances = (
            select(FileInstance, Source)
            .join(Source, Source.id == FileInstance.source_id)
            .where(FileInstance.file_id == file.id)
            .order_by(FileInstance.id)
        )
        if source_ids is not None:
            instances = instances.where(Source.id.in_(source_ids))
        found = session.execute(instances).all()
        matches = session.execute(
            select(Match, HashSet.name, HashSet.kind, HashEntry.category, HashEntry.series)
            .join(HashSet, HashSet.id == Match.hash_set_id)
            .join(HashEntry, HashEntry.id == Match.hash_entry_id)
            .where(Match.file_id == file.id)
            .order_by(Match.id)
        ).all()
        return {
            "sha256": file.sha256,
            "md5": file.md5,
            "sha1": file.sha1,
            "size": file.size_bytes,
            "mime": file.mime,
            "pdq": file.pdq,
            "pdq_quality": file.pdq_quality,
            "exif": {
                "make": file.exif_make,
                "model": file.exif_model,
                "serial": file.exif_serial,
                "time": file.exif_time.isoformat() if file.exif_time else None,
                "gps": [file.gps_lat, file.gps_lon] if file.gps_lat is not None else None,
            },
            "error": file.error,
            "instances": [
                {
                    "source_id": source.id,
                    "source": source.original_name,
                    "case_id": source.case_id,
                    "path": instance.path,
                    "deleted": instance.deleted,
                    "carved": instance.carved,
                    "modified_at": instance.modified_at.isoformat()
                    if instance.modified_at
                    else None,
                }
                for instance, source in found
            ],
            "matches": [
                {
                    "hash_set": name,
                    "set_kind": set_kind,
                    "kind": match.kind,
                    "distance": match.distance_bits,
                    "category": category,
                    "series": series,
                }
                for match, name, set_kind, category, series in matches
            ],
        }
