"""A parsed source as the rows the writer inserts, in the store's own form but for ids.

Why a step of its own: this is all of the writer's per-record work that needs no store
(which selectors a source names, which sightings merge, one event row per direct target,
text made storable, extra data written as its JSON text), so a parsing worker does it beside
the parse (``workflows.sources.parsing``) and the writer is left with giving selectors and
files their ids and inserting. Rows name a selector by its position in ``selectors`` and a
file by its position in ``files``: what crosses between the processes is then tuples of
numbers and strings, which pickle several times faster than the parser's records or dicts,
and the writer puts an id in place with a list index.

Contract C (``workflows.sources.ingest``) is decided here: an account is a ``username``
selector keyed by its casefolded platform and name, its stable id an ``account`` selector
sighted on it, one sighting per account and source, repeats without extra data merged at
their earliest time.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from vigil.formats.source_records import (
    AccountRef,
    FileRef,
    ParsedSource,
    SelectorRef,
    file_key,
)
from vigil.store.db import json_text
from vigil.text import storable, storable_cut

STABLE_ID_CONTEXT = "platform account id"
ROOM_CHARS = 300  # Event.room
SelectorKey = tuple[str, str, str]  # (kind, platform casefolded, value)

# A file as a source names it: a ``FileRef``'s fields, in order. The rows carry files so: a
# tuple of strings crosses from the parsing worker in a fifth of a ``FileRef``'s unpickling
# time.
FileFacts = tuple[str | None, str | None, str | None, int | None, str | None, str | None]
FACT_AT = {name: position for position, name in enumerate(FileRef.__slots__)}
MD5: Final = 0
SHA1: Final = 1
SHA256: Final = 2
NAME: Final = 4


def file_facts(ref: FileRef) -> FileFacts:
    return (ref.md5, ref.sha1, ref.sha256, ref.size_bytes, ref.name, ref.pdq)


def facts_key(facts: FileFacts) -> tuple[str, str]:
    """``FileRef.key`` of the file."""
    return file_key(facts[MD5], facts[SHA1], facts[SHA256])


# (selector, account or None, seen_at, context, extra JSON text or None); selectors by position
SightingRow = tuple[int, int | None, datetime | None, str, str | None]
# (kind, occurred_at, actor, target, room, file, ip, text, extra, room recipients): selectors
# and files by position. ``extra`` is JSON text, except on a room send (an IRC DCC SEND, with
# ``room recipients``): there it is the dict that the writer completes with the recipients'
# selector ids as ``extra["recipients"]``, then writes.
EventRow = tuple[
    str,
    datetime | None,
    int | None,
    int | None,
    str | None,
    int | None,
    int | None,
    str | None,
    str | dict[str, Any] | None,
    tuple[int, ...] | None,
]


@dataclass
class SourceRows:
    selectors: dict[SelectorKey, tuple[str, str, str]] = field(default_factory=dict)
    """Every selector the rows name, in the order of their positions: key -> (platform as
    written, value, display)."""
    files: list[FileFacts] = field(default_factory=list)
    """Every file named, once per event naming it, in the order of their positions."""
    sightings: list[SightingRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    accounts: int = 0
    """Accounts with a sighting of their own in this source."""


def account_key(ref: AccountRef) -> SelectorKey:
    return ("username", ref.platform.casefold(), ref.username.casefold())


def stable_id_key(ref: AccountRef) -> SelectorKey:
    return ("account", ref.platform.casefold(), ref.account_id or "")


def selector_key(ref: SelectorRef) -> SelectorKey:
    return (ref.kind, ref.platform.casefold(), ref.value)


def source_rows(parsed: ParsedSource) -> SourceRows:
    rows = SourceRows()
    at = _Positions(rows.selectors)
    at.name_all(parsed)
    file_position: dict[tuple[str, str], int] = {}  # a file's key -> its first position
    for event in parsed.events:
        if event.file is not None:
            file_position.setdefault(event.file.key, len(rows.files))
            rows.files.append(file_facts(event.file))
    rows.sightings, rows.accounts = _sightings(parsed, at)
    rows.events = _events(parsed, at, file_position)
    return rows


class _Positions:
    """Each selector's position in ``specs`` (the first spelling of a key names it), found
    once per parsed ref: a report's actor is one ref, named by each of its facts, and
    computing its key anew each time was a third of this step."""

    def __init__(self, specs: dict[SelectorKey, tuple[str, str, str]]):
        self.specs = specs
        self.of_key: dict[SelectorKey, int] = {}
        self.accounts: dict[int, tuple[int, int | None]] = {}  # id(ref) -> own, stable id
        self.selectors: dict[int, int] = {}  # id(ref) -> position

    def name_all(self, parsed: ParsedSource) -> None:
        """Every selector the source names, in the order the rows' positions follow."""
        for sighting in parsed.sightings:
            if sighting.account is not None:
                self.account(sighting.account)
            if sighting.selector is not None:
                self.selector(sighting.selector)
        for event in parsed.events:
            for ref in (event.actor, *event.targets, *event.room_recipients):
                if ref is not None:
                    self.account(ref)
            if event.ip is not None:
                self.selector(event.ip)

    def account(self, ref: AccountRef) -> tuple[int, int | None]:
        """The positions of the account's ``username`` selector and of its stable id."""
        found = self.accounts.get(id(ref))  # the parsed source holds its refs meanwhile
        if found is None:
            key = account_key(ref)
            own = self._add(key, (ref.platform, key[2], ref.username.strip()))
            stable = None
            if ref.account_id:
                spec = (ref.platform, ref.account_id, ref.account_id)
                stable = self._add(stable_id_key(ref), spec)
            found = self.accounts[id(ref)] = (own, stable)
        return found

    def selector(self, ref: SelectorRef) -> int:
        found = self.selectors.get(id(ref))
        if found is None:
            spec = (ref.platform, ref.value, ref.display)
            found = self.selectors[id(ref)] = self._add(selector_key(ref), spec)
        return found

    def _add(self, key: SelectorKey, spec: tuple[str, str, str]) -> int:
        found = self.of_key.get(key)
        if found is None:
            found = self.of_key[key] = len(self.of_key)
            self.specs[key] = spec
        return found


def _sightings(parsed: ParsedSource, at: _Positions) -> tuple[list[SightingRow], int]:
    merged: dict[tuple[Any, ...], list[Any]] = {}
    positions = at.accounts  # every ref is named (``name_all``): a lookup, not a call

    def add(
        selector: int,
        account: int | None,
        seen_at: datetime | None,
        context: str,
        extra: dict[str, Any] | None,
        fact: Hashable,
    ) -> None:
        # Repeats without extra data (a nick on every line) merge into one sighting with
        # the earliest time; a sighting with extra data (a report's) is its own fact, told
        # apart by ``fact``.
        key = (selector, account, context, fact)
        row = merged.get(key)
        if row is None:
            merged[key] = [selector, account, seen_at, context, extra]
        elif seen_at is not None and (row[2] is None or seen_at < row[2]):
            row[2] = seen_at

    def account_rows(
        ref: AccountRef,
        seen_at: datetime | None,
        context: str,
        extra: dict[str, Any] | None,
        fact: Hashable,
    ) -> None:
        own, stable = positions[id(ref)]
        add(own, own, seen_at, context, extra, fact)
        if stable is not None:  # one per account and source, at its earliest time
            add(stable, own, seen_at, STABLE_ID_CONTEXT, None, None)

    accounts_seen: set[int] = set()
    for number, sighting in enumerate(parsed.sightings):
        extra = sighting.extra or None  # the parser's dict: written as is, never changed
        fact: Hashable = id(extra) if extra else None
        if role := sighting.role:
            if extra is None or extra.get("role") != role:
                extra = {**extra, "role": role} if extra else {"role": role}
            fact = (number,)  # its own fact, whether or not its dict is shared
        account = None
        if sighting.account is not None:
            account = positions[id(sighting.account)][0]
            if account not in accounts_seen or sighting.selector is None:
                own_extra, own_fact = (extra, fact) if sighting.selector is None else (None, None)
                account_rows(
                    sighting.account, sighting.seen_at, sighting.context, own_extra, own_fact
                )
                accounts_seen.add(account)
        if sighting.selector is not None:
            selector = at.selector(sighting.selector)
            add(selector, account, sighting.seen_at, sighting.context, extra, fact)
    in_events: dict[int, AccountRef] = {}  # the first ref of each, in the order they act
    for event in parsed.events:
        for ref in (event.actor, *event.targets, *event.room_recipients):
            if ref is not None:
                in_events.setdefault(positions[id(ref)][0], ref)
    for account, ref in in_events.items():
        if account not in accounts_seen:
            account_rows(ref, None, f"{parsed.kind} event", None, None)
            accounts_seen.add(account)
    written: list[SightingRow] = [
        (
            selector,
            account,
            seen_at,
            storable(context),
            None if extra is None else json_text(extra),
        )
        for selector, account, seen_at, context, extra in merged.values()
    ]
    return written, len(accounts_seen)


def _events(
    parsed: ParsedSource, at: _Positions, file_position: dict[tuple[str, str], int]
) -> list[EventRow]:
    rows: list[EventRow] = []
    for event in parsed.events:
        extra = dict(event.extra) if event.extra else {}
        if event.send_key is not None:
            extra["send"] = event.send_key
        written_extra: str | dict[str, Any] | None
        recipients = None
        if event.room_recipients:
            recipients = tuple(at.account(ref)[0] for ref in event.room_recipients)
            written_extra = extra  # completed by the writer, with the recipients' ids
        else:
            if event.kind == "file_transfer" and event.room is not None:
                extra["recipients"] = []
            written_extra = json_text(extra) if extra else None
        kind = storable(event.kind)
        actor = at.account(event.actor)[0] if event.actor else None
        room = storable_cut(event.room, ROOM_CHARS) if event.room else None
        file = file_position[event.file.key] if event.file else None
        ip = at.selector(event.ip) if event.ip else None
        text = storable(event.text) if event.text is not None else None
        for target in event.targets or (None,):
            rows.append(
                (
                    kind,
                    event.occurred_at,
                    actor,
                    at.account(target)[0] if target is not None else None,
                    room,
                    file,
                    ip,
                    text,
                    written_extra,
                    recipients,
                )
            )
    return rows
