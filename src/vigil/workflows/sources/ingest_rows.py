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

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.formats.source_records import AccountRef, FileRef, ParsedSource, SelectorRef
from vigil.store.db import json_text
from vigil.text import storable

STABLE_ID_CONTEXT = "platform account id"
SelectorKey = tuple[str, str, str]  # (kind, platform casefolded, value)

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
    files: list[FileRef] = field(default_factory=list)
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
    _name_selectors(parsed, rows.selectors)
    position = {key: at for at, key in enumerate(rows.selectors)}
    file_position: dict[tuple[str, str], int] = {}  # a file's key -> its first position
    for event in parsed.events:
        if event.file is not None:
            file_position.setdefault(event.file.key, len(rows.files))
            rows.files.append(event.file)
    rows.sightings, rows.accounts = _sightings(parsed, position)
    rows.events = _events(parsed, position, file_position)
    return rows


def _name_selectors(parsed: ParsedSource, specs: dict[SelectorKey, tuple[str, str, str]]) -> None:
    def account(ref: AccountRef) -> None:
        key = account_key(ref)
        if key not in specs:
            specs[key] = (ref.platform, key[2], ref.username.strip())
        if ref.account_id:
            id_key = stable_id_key(ref)
            if id_key not in specs:
                specs[id_key] = (ref.platform, ref.account_id, ref.account_id)

    def selector(ref: SelectorRef) -> None:
        key = selector_key(ref)
        if key not in specs:
            specs[key] = (ref.platform, ref.value, ref.display)

    for sighting in parsed.sightings:
        if sighting.account is not None:
            account(sighting.account)
        if sighting.selector is not None:
            selector(sighting.selector)
    for event in parsed.events:
        for ref in (event.actor, *event.targets, *event.room_recipients):
            if ref is not None:
                account(ref)
        if event.ip is not None:
            selector(event.ip)


def _sightings(
    parsed: ParsedSource, position: dict[SelectorKey, int]
) -> tuple[list[SightingRow], int]:
    merged: dict[tuple[Any, ...], list[Any]] = {}

    def add(
        selector: SelectorKey,
        account: SelectorKey | None,
        seen_at: datetime | None,
        context: str,
        extra: dict[str, Any] | None,
    ) -> None:
        # Repeats without extra data (a nick on every line) merge into one sighting with
        # the earliest time; a sighting with extra data (a report's) is its own fact.
        key = (selector, account, context, id(extra) if extra else None)
        row = merged.get(key)
        if row is None:
            merged[key] = [selector, account, seen_at, context, extra or None]
        elif seen_at is not None and (row[2] is None or seen_at < row[2]):
            row[2] = seen_at

    def account_rows(
        ref: AccountRef,
        seen_at: datetime | None,
        context: str,
        extra: dict[str, Any] | None,
    ) -> None:
        key = account_key(ref)
        add(key, key, seen_at, context, extra)
        if ref.account_id:  # one per account and source, at its earliest time
            add(stable_id_key(ref), key, seen_at, STABLE_ID_CONTEXT, None)

    accounts_seen: set[SelectorKey] = set()
    for sighting in parsed.sightings:
        extra = sighting.extra or None  # the parser's dict: written as is, never changed
        if sighting.role:
            extra = {**extra, "role": sighting.role} if extra else {"role": sighting.role}
        account = None
        if sighting.account is not None:
            account = account_key(sighting.account)
            if account not in accounts_seen or sighting.selector is None:
                own_extra = extra if sighting.selector is None else None
                account_rows(sighting.account, sighting.seen_at, sighting.context, own_extra)
                accounts_seen.add(account)
        if sighting.selector is not None:
            add(selector_key(sighting.selector), account, sighting.seen_at, sighting.context, extra)
    in_events = dict.fromkeys(  # in the order they act, so the rows are the same every run
        ref for e in parsed.events for ref in (e.actor, *e.targets, *e.room_recipients) if ref
    )
    for ref in in_events:
        if account_key(ref) not in accounts_seen:
            account_rows(ref, None, f"{parsed.kind} event", None)
            accounts_seen.add(account_key(ref))
    written: list[SightingRow] = [
        (
            position[selector],
            None if account is None else position[account],
            seen_at,
            storable(context),
            None if extra is None else json_text(extra),
        )
        for selector, account, seen_at, context, extra in merged.values()
    ]
    return written, len(accounts_seen)


def _events(
    parsed: ParsedSource,
    position: dict[SelectorKey, int],
    file_position: dict[tuple[str, str], int],
) -> list[EventRow]:
    rows: list[EventRow] = []
    for event in parsed.events:
        extra = dict(event.extra) if event.extra else {}
        if event.send_key is not None:
            extra["send"] = event.send_key
        written_extra: str | dict[str, Any] | None
        recipients = None
        if event.room_recipients:
            recipients = tuple(position[account_key(a)] for a in event.room_recipients)
            written_extra = extra  # completed by the writer, with the recipients' ids
        else:
            if event.kind == "file_transfer" and event.room is not None:
                extra["recipients"] = []
            written_extra = json_text(extra) if extra else None
        kind = storable(event.kind)
        actor = position[account_key(event.actor)] if event.actor else None
        room = storable(event.room[:300]) if event.room else None
        file = file_position[event.file.key] if event.file else None
        ip = position[selector_key(event.ip)] if event.ip else None
        text = storable(event.text) if event.text is not None else None
        for target in event.targets or (None,):
            rows.append(
                (
                    kind,
                    event.occurred_at,
                    actor,
                    position[account_key(target)] if target is not None else None,
                    room,
                    file,
                    ip,
                    text,
                    written_extra,
                    recipients,
                )
            )
    return rows
