"""A parsed source as the rows the writer inserts, with selectors and files named by key.

Why a step of its own: this is all of the writer's per-record work that needs no store
(which selectors a source names, which sightings merge, one event row per direct target),
so a parsing worker does it beside the parse (``workflows.sources.parsing``) and the writer
is left with looking ids up and inserting. What crosses between the processes is then
tuples, strings and the parser's own ``extra`` dicts, which pickle several times faster than
the parser's records.

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

STABLE_ID_CONTEXT = "platform account id"
SelectorKey = tuple[str, str, str]  # (kind, platform casefolded, value)
FileKey = tuple[str, str]  # FileRef.key

# (selector, account or None, seen_at, context, extra or None)
SightingRow = tuple[SelectorKey, SelectorKey | None, datetime | None, str, dict[str, Any] | None]
# (kind, occurred_at, actor, target, room, file, ip, text, extra, room recipients): keys for
# what the store gives ids; ``room recipients`` (an IRC DCC SEND) become the selector ids of
# ``extra["recipients"]``.
EventRow = tuple[
    str,
    datetime | None,
    SelectorKey | None,
    SelectorKey | None,
    str | None,
    FileKey | None,
    SelectorKey | None,
    str | None,
    dict[str, Any] | None,
    tuple[SelectorKey, ...] | None,
]


@dataclass
class SourceRows:
    selectors: dict[SelectorKey, tuple[str, str, str]] = field(default_factory=dict)
    """Every selector the rows name: key -> (platform as written, value, display)."""
    files: list[FileRef] = field(default_factory=list)
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
    rows.files = [e.file for e in parsed.events if e.file is not None]
    rows.sightings, rows.accounts = _sightings(parsed)
    rows.events = _events(parsed)
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


def _sightings(parsed: ParsedSource) -> tuple[list[SightingRow], int]:
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
    return [tuple(row) for row in merged.values()], len(accounts_seen)  # type: ignore[misc]


def _events(parsed: ParsedSource) -> list[EventRow]:
    rows: list[EventRow] = []
    for event in parsed.events:
        extra = dict(event.extra) if event.extra else {}
        if event.send_key is not None:
            extra["send"] = event.send_key
        recipients = None
        if event.room_recipients:
            recipients = tuple(account_key(a) for a in event.room_recipients)
        elif event.kind == "file_transfer" and event.room is not None:
            extra["recipients"] = []
        actor = account_key(event.actor) if event.actor else None
        room = event.room[:300] if event.room else None
        file = event.file.key if event.file else None
        ip = selector_key(event.ip) if event.ip else None
        for target in event.targets or (None,):
            target_key = account_key(target) if target is not None else None
            rows.append(
                (
                    event.kind,
                    event.occurred_at,
                    actor,
                    target_key,
                    room,
                    file,
                    ip,
                    event.text,
                    extra or None,
                    recipients,
                )
            )
    return rows
