"""What every source parser yields: plain records, never ORM rows.

A parser reads one document (a report file, a log, a database) completely and returns a
``ParsedSource``. Nothing is written while it reads, so "not my format" and any bad record
fail the whole source before the store is touched. The ingest workflow then turns these
records into Selectors, Sightings, Events and Files (docs/formats.md).

Accounts are compared case-insensitively on (platform, username): ``AccountRef.key``.
Selector values here are already normalised (``vigil.identity.selectors``); ``display``
keeps what the source wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from vigil.text import storable

MAX_SIZE_BYTES = (1 << 63) - 1  # the store's BIGINT: a larger size is a hostile value
MAX_NAME_CHARS = 500  # Selector.value: an account name longer than this cannot be stored


def _storable_account(ref: AccountRef, source: str) -> AccountRef:
    platform, username = storable(ref.platform), storable(ref.username)
    account_id = storable(ref.account_id) if ref.account_id is not None else None
    limits = [("platform", platform, 100), ("account name", username, 500)]
    if account_id is not None:  # the value of its ``account`` selector
        limits.append(("platform account id", account_id, MAX_NAME_CHARS))
    for what, value, limit in limits:
        if len(value) > limit:
            from vigil.errors import BadInput

            raise BadInput(
                f"{what} longer than {limit} characters: {value[:40]!r}...", source=source
            )
    if (platform, username, account_id) == (ref.platform, ref.username, ref.account_id):
        return ref
    return AccountRef(platform, username, account_id)


# The key, on a sighting's (or an event's) extra, of the dirty values read with it.
DIRTY_KEY = "dirty"

# Sighting roles a parser may put in ``SightingRecord.role``; resolve reads ``extra["role"]``.
ROLE_VICTIM = "victim"
ROLE_REPORTED = "reported"
ROLE_RECIPIENT = "recipient"
ROLE_SUBSCRIBER = "subscriber"


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An online identity: a username on a platform, plus the platform's stable id if known."""

    platform: str
    username: str
    account_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform.casefold(), self.username.casefold())


@dataclass(frozen=True, slots=True)
class SelectorRef:
    """A normalised identifier (email, phone, ip, device, url, payment, camera)."""

    kind: str
    value: str
    display: str
    platform: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.platform, self.value)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file named by its hashes in a source. At least one of md5/sha1/sha256 is set."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    name: str | None = None
    pdq: str | None = None

    def __reduce__(self) -> tuple[type[FileRef], tuple[Any, ...]]:
        """Pickled as its fields, in order: a parsing worker sends one per file a source
        names, and a slotted dataclass's own state takes a third longer each way."""
        return (FileRef, tuple(getattr(self, name) for name in self.__slots__))

    @property
    def key(self) -> tuple[str, str]:
        return file_key(self.md5, self.sha1, self.sha256)


def file_key(md5: str | None, sha1: str | None, sha256: str | None) -> tuple[str, str]:
    """What names one file: its strongest hash, by kind."""
    if sha256:
        return ("sha256", sha256)
    if md5:
        return ("md5", md5)
    return ("sha1", sha1 or "")


@dataclass(slots=True)
class SightingRecord:
    """A selector (or, with ``selector=None``, the account itself) seen in this source.

    ``account`` is the account it was seen on, if any. ``role`` marks reported persons,
    recipients, subscribers and victims (who must never be merged with suspects).
    """

    selector: SelectorRef | None
    account: AccountRef | None
    seen_at: datetime | None
    context: str
    role: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(slots=True)
class EventRecord:
    """Something that happened. ``kind``: message|file_transfer|upload|post|login|ip_capture.

    ``targets`` are direct recipients: the workflow writes one event per target (a DM).
    ``room_recipients`` are the accounts present in ``room`` (an IRC DCC SEND): ONE event
    whose ``extra["recipients"]`` lists them. ``send_key`` identifies the send action, so a
    DM to three people is still one file send (docs/formats.md).
    """

    kind: str
    occurred_at: datetime | None
    actor: AccountRef | None
    targets: tuple[AccountRef, ...] = ()
    room: str | None = None
    room_recipients: tuple[AccountRef, ...] = ()
    file: FileRef | None = None
    ip: SelectorRef | None = None
    text: str | None = None
    send_key: str | None = None
    extra: dict[str, Any] | None = None


@dataclass
class ParsedSource:
    """Everything one source holds, read in full before anything is written."""

    kind: str
    name: str
    sightings: list[SightingRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Every value kept verbatim that could not be a selector, in the order read:
    # {"location", "kind", "value", "reason"}. Each goes on the record it came from (see
    # ``take_dirty``); ``attached`` counts those already placed.
    dirty: list[dict[str, str]] = field(default_factory=list)
    attached: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    records: int = 0  # reports, lines, rows or posts read: what the audit entry counts
    # SHA-256 and size for sources that are not one file (a server database); a file's
    # digest is taken by the workflow from its bytes.
    sha256: str | None = None
    size_bytes: int | None = None

    def account(
        self,
        ref: AccountRef,
        seen_at: datetime | None,
        context: str,
        *,
        role: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> AccountRef:
        """Note that ``ref`` appears in this source (the account's own sighting).

        Returns the account as the store will hold it (``storable``); use that one after.
        """
        ref = _storable_account(ref, self.name)
        self.sightings.append(SightingRecord(None, ref, seen_at, context, role, extra))
        return ref

    def seen(
        self,
        selector: SelectorRef | None,
        account: AccountRef | None,
        seen_at: datetime | None,
        context: str,
        *,
        role: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Note a selector seen here.

        ``None`` is a dirty value (already counted by ``source_common.selector``): it is not
        a selector, so it goes verbatim on a sighting of the account it was read on, flagged
        under ``extra["dirty"]``. Without an account the parser places it (``take_dirty``).
        """
        if selector is not None:
            self.sightings.append(SightingRecord(selector, account, seen_at, context, role, extra))
        elif account is not None and (dirty := self.take_dirty()):
            flagged = {**(extra or {}), DIRTY_KEY: dirty}
            self.sightings.append(SightingRecord(None, account, seen_at, context, role, flagged))

    def note_dirty(self, location: str, kind: str, value: str, reason: str) -> None:
        """A value kept verbatim: a warning the user sees, and a value for its record."""
        self.warnings.append(f"{location}: dirty {kind} kept verbatim, not a selector: {reason}")
        self.dirty.append({"location": location, "kind": kind, "value": value, "reason": reason})

    def take_dirty(self) -> list[dict[str, str]]:
        """The dirty values noted since the last take, to put on the record they belong to."""
        taken = self.dirty[self.attached :]
        self.attached = len(self.dirty)
        return taken

    def unplaced_dirty(self) -> list[dict[str, str]]:
        """Dirty values no record took (a person known by nothing else): the source keeps them."""
        return self.dirty[self.attached :]


@dataclass(frozen=True)
class ParseOptions:
    """What the command line can tell a parser about a source."""

    platform: str | None = None
    tz: str | None = None  # for formats with naive local times (irssi); default UTC
    table_prefix: str = "phpbb_"


@dataclass(frozen=True)
class SourceDocument:
    """One unit to ingest: a file, or a database URL. ``sha256`` is its provenance digest."""

    name: str
    path: Path | None = None
    url: str | None = None


class SourceParser(Protocol):
    """The one interface every source format implements (registered in ``SOURCE_FORMATS``)."""

    name: ClassVar[str]

    def documents(self, location: str) -> Iterator[SourceDocument]:
        """The documents at ``location``: a file, each file of a directory, or a database."""
        ...

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        """Read the whole document; raise ``BadInput`` naming the record, or return it all."""
        ...
