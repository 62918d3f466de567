"""Writing one source's rows into the store, in bulk, inside the caller's transaction.

Why a class of its own: ingest speed is set here. The rows come from ``ingest_rows`` in the
store's own form, with selectors and files named by position; the writer gives each its id:
from a ``SelectorCache``, then the store in one batched lookup, then new rows inserted in one
statement that gives back their ids (``insert_returning``). Sightings and events then go in
with one bulk insert per table (driver ``executemany`` on SQLite, ``COPY`` on PostgreSQL).
Nothing here commits: ``workflows.ingest`` owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.store.bulk import (
    driver_converter,
    insert_returning,
    insert_values,
    select_in,
    select_keys,
)
from vigil.store.db import Actor, json_text, references_unchecked
from vigil.store.models import Event, Selector, Sighting, utcnow
from vigil.workflows.sources.ingest_files import resolve_files
from vigil.workflows.sources.ingest_rows import SelectorKey, SourceRows, facts_key

SELECTOR_KEY_COLUMNS = ("kind", "platform", "value")  # its unique key
# The columns of the writer's row tuples, in order.
SIGHTING_COLUMNS = (
    "selector_id",
    "account_id",
    "source_id",
    "case_id",
    "agency_id",
    "seen_at",
    "context",
    "extra",
)
EVENT_COLUMNS = (
    "kind",
    "occurred_at",
    "actor_id",
    "target_id",
    "room",
    "file_id",
    "ip_id",
    "source_id",
    "case_id",
    "agency_id",
    "text",
    "extra",
)


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
        # ids this transaction read, created or confirmed (``SourceWriter._confirmed``)
        self.current: set[int] = set()
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

    def get_all(self, keys: Iterable[SelectorKey]) -> list[int | None]:
        """``get`` of each key, a transaction's cache and its parent's asked directly: a
        source names a few selectors per record, and two calls for each showed."""
        if self.parent is None or self.parent.parent is not None:
            return [self.get(key) for key in keys]
        own, parent = self.ids, self.parent.ids
        return [own[key] if key in own else parent.get(key) for key in keys]

    def merge(self, child: SelectorCache) -> None:
        self.ids.update(child.ids)


class SourceWriter:
    def __init__(
        self, session: Session, actor: Actor, case_id: int, source_id: int, cache: SelectorCache
    ):
        self.session = session
        self.common = (source_id, case_id, actor.agency_id)
        self.cache = cache
        self.file_ids: list[int] = []
        self.counts = WriteCounts()
        self.warnings: list[str] = []  # what only the store could tell about the source
        self.confirm_remembered = references_unchecked(session)

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
            self.cache.current.add(selector_id)

    def _resolve_selectors(self, specs: dict[SelectorKey, tuple[str, str, str]]) -> list[int]:
        """Every wanted selector's id, in the order of ``specs``: from the cache, the store,
        or a new row. New rows go in with one statement, which gives back their ids
        (``insert_returning``)."""
        cached = self.cache.get_all(specs)
        if self.confirm_remembered:
            cached = self._confirmed(cached)
        missing = [key for key, found in zip(specs, cached, strict=True) if found is None]
        if missing:
            self._lookup_selectors(missing)
            new_keys = [key for key in missing if key not in self.cache.ids]
            if new_keys:
                self._insert_selectors(specs, new_keys)
        return [
            self.cache.ids[key] if found is None else found
            for key, found in zip(specs, cached, strict=True)
        ]

    def _confirmed(self, cached: list[int | None]) -> list[int | None]:
        """``cached`` with each id remembered from an earlier transaction confirmed in this
        one, where the store does not check references (``Store.transaction``): an id no
        longer in the store is looked up again by its key, as an uncached one is. Each id is
        asked about once per transaction."""
        remembered = set(cached) - self.cache.current
        remembered.discard(None)
        if not remembered:
            return cached
        rows = select_in(
            self.session, Selector.__tablename__, ("id",), [], "id", sorted(remembered)
        )
        present = {selector_id for (selector_id,) in rows}
        self.cache.current |= present
        if len(present) == len(remembered):
            return cached
        gone = remembered - present
        return [None if found in gone else found for found in cached]

    def _insert_selectors(
        self, specs: dict[SelectorKey, tuple[str, str, str]], new_keys: list[SelectorKey]
    ) -> None:
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "kind": key[0],
                "platform": specs[key][0],
                "value": specs[key][1],
                "display": specs[key][2][:500],
                "created_at": now,
            }
            for key in new_keys
        ]
        columns = ("id", "kind", "platform", "value")
        for selector_id, kind, platform, value in insert_returning(
            self.session, Selector, rows, columns
        ):
            self._spellings(kind).setdefault(platform.casefold(), set()).add(platform)
            self.cache.ids[(kind, platform.casefold(), value)] = selector_id
            self.cache.current.add(selector_id)
        self.counts.selectors_new += len(new_keys)

    # --- the whole source --------------------------------------------------------------

    def write(self, rows: SourceRows) -> WriteCounts:
        ids = self._resolve_selectors(rows.selectors)  # by position, as the rows name them
        file_ids: list[int] = []  # by position
        if rows.files:
            files = resolve_files(self.session, rows.files)
            file_ids = [files.ids[facts_key(facts)] for facts in rows.files]
            self.counts.files_new = files.new
            self.warnings.extend(files.conflicts)
        self.file_ids = sorted(set(file_ids))
        self.counts.files = len(self.file_ids)
        self.counts.accounts = rows.accounts
        self._write_sightings(rows, ids)
        self._write_events(rows, ids, file_ids)
        return self.counts

    def _write_sightings(self, rows: SourceRows, ids: list[int]) -> None:
        source_id, case_id, agency_id = self.common
        seen = self._time_converter(Sighting.seen_at)
        values = [
            (
                ids[selector],
                None if account is None else ids[account],
                source_id,
                case_id,
                agency_id,
                None if seen_at is None else seen(seen_at),
                context,
                extra,
            )
            for selector, account, seen_at, context, extra in rows.sightings
        ]
        insert_values(self.session, Sighting, SIGHTING_COLUMNS, values)
        self.counts.sightings = len(values)

    def _write_events(self, rows: SourceRows, ids: list[int], file_ids: list[int]) -> None:
        source_id, case_id, agency_id = self.common
        occurred = self._time_converter(Event.occurred_at)
        values = []
        for kind, at, actor, target, room, file, ip, text, extra, recipients in rows.events:
            if recipients is not None:  # a room send: its recipients' ids, then its text
                assert isinstance(extra, dict)
                extra = json_text({**extra, "recipients": [ids[each] for each in recipients]})
            values.append(
                (
                    kind,
                    None if at is None else occurred(at),
                    None if actor is None else ids[actor],
                    None if target is None else ids[target],
                    room,
                    None if file is None else file_ids[file],
                    None if ip is None else ids[ip],
                    source_id,
                    case_id,
                    agency_id,
                    text,
                    extra,
                )
            )
        insert_values(self.session, Event, EVENT_COLUMNS, values)
        self.counts.events = len(values)

    def _time_converter(self, column: Any) -> Callable[[datetime], Any]:
        """A time column's driver form (``driver_converter``: naive UTC)."""
        convert = driver_converter(column, self.session.connection().dialect)
        assert convert is not None  # UTCDateTime always converts
        return convert
