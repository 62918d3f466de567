"""Writing one source's rows into the store, in bulk, inside the caller's transaction.

Why a class of its own: ingest speed is set here. The rows come from ``ingest_rows`` with
selectors and files named by key; the writer gives each key its id: from a
``SelectorCache``, then the store in one batched lookup, then new rows inserted in one
statement and read back (``insert_returning``). Sightings and events then go in with one bulk
insert per table and row shape (driver ``executemany`` on SQLite, ``COPY`` on PostgreSQL).
Nothing here commits: ``workflows.ingest`` owns the transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.store.bulk import bulk_insert, insert_returning, select_keys
from vigil.store.db import Actor
from vigil.store.models import Event, Selector, Sighting, utcnow
from vigil.workflows.sources.ingest_files import resolve_files
from vigil.workflows.sources.ingest_rows import SelectorKey, SourceRows

SELECTOR_KEY_COLUMNS = ("kind", "platform", "value")  # its unique key


@dataclass
class WriteCounts:
    accounts: int = 0
    selectors_new: int = 0
    sightings: int = 0
    events: int = 0
    files: int = 0
    files_new: int = 0

    def add(self, other: WriteCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class SelectorCache:
    """Selector ids by key. A child holds what a transaction created until it commits."""

    def __init__(self, parent: SelectorCache | None = None):
        self.ids: dict[SelectorKey, int] = {}
        self.parent = parent
        # kind -> casefolded platform -> spellings in the store (shared with the parent:
        # a spelling too many in a lookup is harmless, one too few would split an account)
        self.platforms: dict[str, dict[str, set[str]]] = (
            parent.platforms if parent is not None else {}
        )

    def child(self) -> SelectorCache:
        return SelectorCache(self)

    def get(self, key: SelectorKey) -> int | None:
        found = self.ids.get(key)
        if found is None and self.parent is not None:
            return self.parent.get(key)
        return found

    def merge(self, child: SelectorCache) -> None:
        self.ids.update(child.ids)


class SourceWriter:
    def __init__(
        self, session: Session, actor: Actor, case_id: int, source_id: int, cache: SelectorCache
    ):
        self.session = session
        self.common = {"source_id": source_id, "case_id": case_id, "agency_id": actor.agency_id}
        self.cache = cache
        self.specs: dict[SelectorKey, tuple[str, str, str]] = {}  # key -> platform, value, display
        self.ids: dict[SelectorKey, int] = {}
        self.file_ids: list[int] = []
        self.counts = WriteCounts()
        self.warnings: list[str] = []  # what only the store could tell about the source

    # --- selectors ---------------------------------------------------------------------

    def _spellings(self, kind: str) -> dict[str, set[str]]:
        """How each platform of ``kind`` is written in the store, read once per ingest."""
        known = self.cache.platforms.get(kind)
        if known is None:
            known = self.cache.platforms[kind] = {}
            rows = self.session.scalars(
                select(Selector.platform).where(Selector.kind == kind).distinct()
            )
            for platform in rows:
                known.setdefault(platform.casefold(), set()).add(platform)
        return known

    def _lookup_selectors(self, keys: list[SelectorKey]) -> None:
        """Fill the cache from the store, by (kind, platform, value) so every probe is on
        the unique index (a lookup by kind and value alone scans every row of the kind),
        each key under every spelling its platform has in the store."""
        wanted = [
            (kind, spelling, value)
            for kind, folded, value in keys
            for spelling in self._spellings(kind).get(folded, ())
        ]
        rows = select_keys(
            self.session,
            Selector.__tablename__,
            ("id", "kind", "platform", "value"),
            SELECTOR_KEY_COLUMNS,
            wanted,
        )
        for selector_id, kind, platform, value in sorted(rows):  # two spellings: the older
            self.cache.ids.setdefault((kind, platform.casefold(), value), selector_id)

    def _resolve_selectors(self) -> None:
        """Every wanted selector's id: from the cache, the store, or a new row.

        New rows go in with one statement that returns their ids on PostgreSQL; on SQLite
        with one executemany, read back by value (its driver returns no rows from one).
        """
        self.ids = {}
        missing = []
        for key in self.specs:
            found = self.cache.get(key)
            if found is None:
                missing.append(key)
            else:
                self.ids[key] = found
        if not missing:
            return
        self._lookup_selectors(missing)
        new_keys = [key for key in missing if key not in self.cache.ids]
        if new_keys:
            now = utcnow()
            rows: list[dict[str, Any]] = [
                {
                    "kind": key[0],
                    "platform": self.specs[key][0],
                    "value": self.specs[key][1],
                    "display": self.specs[key][2][:500],
                    "created_at": now,
                }
                for key in new_keys
            ]
            columns = ("id", "kind", "platform", "value")
            written = insert_returning(self.session, Selector, rows, columns)
            if written is None:  # read back by value (the unique key)
                keys = [(row["kind"], row["platform"], row["value"]) for row in rows]
                written = select_keys(
                    self.session, Selector.__tablename__, columns, SELECTOR_KEY_COLUMNS, keys
                )
            for selector_id, kind, platform, value in written:
                self._spellings(kind).setdefault(platform.casefold(), set()).add(platform)
                self.cache.ids[(kind, platform.casefold(), value)] = selector_id
            self.counts.selectors_new += len(new_keys)
        for key in missing:
            self.ids[key] = self.cache.ids[key]

    # --- the whole source --------------------------------------------------------------

    def write(self, rows: SourceRows) -> WriteCounts:
        self.specs = rows.selectors
        self._resolve_selectors()
        file_ids: dict[tuple[str, str], int] = {}
        if rows.files:
            files = resolve_files(self.session, rows.files)
            file_ids, self.counts.files_new = files.ids, files.new
            self.warnings.extend(files.conflicts)
        self.file_ids = sorted(set(file_ids.values()))
        self.counts.files = len(self.file_ids)
        self.counts.accounts = rows.accounts
        self._write_sightings(rows)
        self._write_events(rows, file_ids)
        return self.counts

    def _write_sightings(self, rows: SourceRows) -> None:
        ids, common = self.ids, self.common
        written: list[dict[str, Any]] = []
        for selector, account, seen_at, context, extra in rows.sightings:
            row: dict[str, Any] = {
                **common,
                "selector_id": ids[selector],
                "account_id": ids[account] if account is not None else None,
                "seen_at": seen_at,
                "context": context,
            }
            if extra:
                row["extra"] = extra
            written.append(row)
        if written:
            bulk_insert(self.session, Sighting, written)
        self.counts.sightings = len(written)

    def _write_events(self, rows: SourceRows, file_ids: dict[tuple[str, str], int]) -> None:
        ids, common = self.ids, self.common
        written: list[dict[str, Any]] = []
        for kind, at, actor, target, room, file, ip, text, extra, recipients in rows.events:
            row: dict[str, Any] = {
                **common,
                "kind": kind,
                "occurred_at": at,
                "actor_id": ids[actor] if actor is not None else None,
                "target_id": ids[target] if target is not None else None,
                "room": room,
                "file_id": file_ids[file] if file is not None else None,
                "ip_id": ids[ip] if ip is not None else None,
                "text": text,
            }
            if recipients is not None:
                extra = {**(extra or {}), "recipients": [ids[key] for key in recipients]}
            if extra:
                row["extra"] = extra
            written.append(row)
        if written:
            bulk_insert(self.session, Event, written)
        self.counts.events = len(written)
