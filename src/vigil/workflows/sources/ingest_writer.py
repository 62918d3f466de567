"""Writing one parsed source into the store, in bulk, inside the caller's transaction.

Why a class of its own: ingest speed is set here. Selectors and files are looked up in
batches (``IN`` queries in chunks) and remembered in a ``SelectorCache``; new ones go in with
one bulk insert and are read back by value; sightings and events are written with one bulk
insert per table and row shape (driver ``executemany`` on SQLite, ``COPY`` on PostgreSQL).
Nothing here commits: ``workflows.ingest`` owns the transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.formats.source_records import AccountRef, ParsedSource, SelectorRef
from vigil.store.db import Actor
from vigil.store.models import Event, Selector, Sighting, utcnow
from vigil.workflows.sources.ingest_files import bulk_insert, resolve_files, select_in

STABLE_ID_CONTEXT = "platform account id"
SelectorKey = tuple[str, str, str]  # (kind, platform casefolded, value)


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


def account_key(ref: AccountRef) -> SelectorKey:
    return ("username", ref.platform.casefold(), ref.username.casefold())


def stable_id_key(ref: AccountRef) -> SelectorKey:
    return ("account", ref.platform.casefold(), ref.account_id or "")


def selector_key(ref: SelectorRef) -> SelectorKey:
    return (ref.kind, ref.platform.casefold(), ref.value)


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

    # --- selectors ---------------------------------------------------------------------

    def _want_account(self, ref: AccountRef) -> None:
        key = account_key(ref)
        if key not in self.specs:
            self.specs[key] = (ref.platform, key[2], ref.username.strip())
        if ref.account_id:
            id_key = stable_id_key(ref)
            if id_key not in self.specs:
                self.specs[id_key] = (ref.platform, ref.account_id, ref.account_id)

    def _want(self, ref: SelectorRef) -> None:
        key = selector_key(ref)
        if key not in self.specs:
            self.specs[key] = (ref.platform, ref.value, ref.display)

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
        the unique index: a lookup by kind and value alone scans every row of the kind."""
        groups: dict[tuple[str, str], set[str]] = {}
        for key in keys:
            groups.setdefault((key[0], key[1]), set()).add(key[2])
        for (kind, folded), value_set in groups.items():
            spellings = self._spellings(kind).get(folded)
            if not spellings:
                continue  # no selector of this kind on this platform yet
            rows = select_in(
                self.session,
                Selector.__tablename__,
                ("id", "platform", "value"),
                [("kind", kind), ("platform", sorted(spellings))],
                "value",
                sorted(value_set),
            )
            for selector_id, platform, value in rows:
                self.cache.ids.setdefault((kind, platform.casefold(), value), selector_id)

    def _resolve_selectors(self) -> None:
        """Every wanted selector's id: from the cache, the store, or a new row.

        New rows go in with one executemany and are read back by value: ``INSERT …
        RETURNING`` in parameter order falls back to one statement per row on SQLite.
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
            bulk_insert(self.session, Selector, rows)
            for row in rows:
                self._spellings(row["kind"]).setdefault(row["platform"].casefold(), set()).add(
                    row["platform"]
                )
            self._lookup_selectors(new_keys)
            self.counts.selectors_new += len(new_keys)
        for key in missing:
            self.ids[key] = self.cache.ids[key]

    def _id(self, key: SelectorKey) -> int:
        return self.ids[key]

    # --- files -------------------------------------------------------------------------

    # --- the whole source --------------------------------------------------------------

    def write(self, parsed: ParsedSource) -> WriteCounts:
        for sighting in parsed.sightings:
            if sighting.account is not None:
                self._want_account(sighting.account)
            if sighting.selector is not None:
                self._want(sighting.selector)
        for event in parsed.events:
            for account in (event.actor, *event.targets, *event.room_recipients):
                if account is not None:
                    self._want_account(account)
            if event.ip is not None:
                self._want(event.ip)
        self._resolve_selectors()
        refs = [e.file for e in parsed.events if e.file is not None]
        file_ids: dict[tuple[str, str], int] = {}
        if refs:
            file_ids, self.counts.files_new = resolve_files(self.session, refs)
        self.file_ids = sorted(set(file_ids.values()))
        self.counts.files = len(self.file_ids)
        self._write_sightings(parsed)
        self._write_events(parsed, file_ids)
        return self.counts

    def _write_sightings(self, parsed: ParsedSource) -> None:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        accounts_seen: set[int] = set()

        def add(
            selector_id: int,
            account_id: int | None,
            seen_at: datetime | None,
            context: str,
            extra: dict[str, Any] | None,
        ) -> None:
            # Repeats without extra data (a nick on every line) merge into one sighting with
            # the earliest time; a sighting with extra data (a report's) is its own fact.
            key = (selector_id, account_id, context, id(extra) if extra else None)
            row = merged.get(key)
            if row is None:
                merged[key] = row = {
                    **self.common,
                    "selector_id": selector_id,
                    "account_id": account_id,
                    "seen_at": seen_at,
                    "context": context,
                }
                if extra:
                    row["extra"] = extra
            elif seen_at is not None and (row["seen_at"] is None or seen_at < row["seen_at"]):
                row["seen_at"] = seen_at

        accounts_in_events = {
            a for e in parsed.events for a in (e.actor, *e.targets, *e.room_recipients) if a
        }
        ids = self.ids
        for sighting in parsed.sightings:
            extra = sighting.extra or None  # the parser's dict: written as is, never changed
            if sighting.role:
                extra = {**extra, "role": sighting.role} if extra else {"role": sighting.role}
            account_id = None
            if sighting.account is not None:
                account_id = ids[account_key(sighting.account)]
                if account_id not in accounts_seen or sighting.selector is None:
                    self._account_rows(
                        sighting.account,
                        account_id,
                        sighting.seen_at,
                        sighting.context,
                        extra if sighting.selector is None else None,
                        add,
                    )
                    accounts_seen.add(account_id)
            if sighting.selector is not None:
                add(
                    ids[selector_key(sighting.selector)],
                    account_id,
                    sighting.seen_at,
                    sighting.context,
                    extra,
                )
        for account in accounts_in_events:
            account_id = self._id(account_key(account))
            if account_id not in accounts_seen:
                self._account_rows(account, account_id, None, f"{parsed.kind} event", None, add)
                accounts_seen.add(account_id)
        self.counts.accounts = len(accounts_seen)
        rows = list(merged.values())
        if rows:
            bulk_insert(self.session, Sighting, rows)
        self.counts.sightings = len(rows)

    def _account_rows(
        self,
        account: AccountRef,
        account_id: int,
        seen_at: datetime | None,
        context: str,
        extra: dict[str, Any] | None,
        add: Any,
    ) -> None:
        add(account_id, account_id, seen_at, context, extra)
        if account.account_id:  # one per account and source, at its earliest time
            add(self.ids[stable_id_key(account)], account_id, seen_at, STABLE_ID_CONTEXT, None)

    def _write_events(self, parsed: ParsedSource, file_ids: dict[tuple[str, str], int]) -> None:
        rows: list[dict[str, Any]] = []
        ids = self.ids
        for event in parsed.events:
            extra = dict(event.extra) if event.extra else {}
            if event.send_key is not None:
                extra["send"] = event.send_key
            base: dict[str, Any] = {
                **self.common,
                "kind": event.kind,
                "occurred_at": event.occurred_at,
                "actor_id": ids[account_key(event.actor)] if event.actor else None,
                "target_id": None,
                "room": event.room[:300] if event.room else None,
                "file_id": file_ids[event.file.key] if event.file else None,
                "ip_id": ids[selector_key(event.ip)] if event.ip else None,
                "text": event.text,
            }
            if event.room_recipients:
                extra["recipients"] = [ids[account_key(a)] for a in event.room_recipients]
            elif event.kind == "file_transfer" and event.room is not None:
                extra["recipients"] = []
            if extra:
                base["extra"] = extra
            if event.targets:
                for target in event.targets:
                    rows.append({**base, "target_id": ids[account_key(target)]})
            else:
                rows.append(base)
        if rows:
            bulk_insert(self.session, Event, rows)
        self.counts.events = len(rows)
