"""What the source parsers share: finding documents, decoding text, dates and selectors.

Each helper maps a foreign failure (UnicodeDecodeError, ValueError from ``datetime`` or
``ipaddress``) to ``BadInput`` naming the source and the record, so a parser never lets a
raw exception out.

Text encoding rule: every text source is read as UTF-8 (a leading BOM is dropped). Only
formats that say so fall back: irssi logs may be latin-1 (old IRC clients wrote the local
codepage), so ``irc`` decodes a log that is not valid UTF-8 as latin-1 and records a warning.
JSONL and CSV must be UTF-8: a non-UTF-8 byte is ``BadInput`` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.errors import BadInput, UsageError
from vigil.evidence.names import printable
from vigil.formats.source_records import ParsedSource, SelectorRef, SourceDocument, storable
from vigil.identity.selectors import SelectorError, normalise

_HEX = re.compile(r"[0-9a-f]+")
MAX_SELECTOR_CHARS = 500  # Selector.value; longer never fits on PostgreSQL


def file_documents(location: str, suffixes: tuple[str, ...]) -> Iterator[SourceDocument]:
    """A file, or every file under a directory whose name ends in one of ``suffixes``."""
    path = Path(location)
    if path.is_file():
        yield SourceDocument(name=printable(path.name), path=path)
        return
    if not path.is_dir():
        raise BadInput("no such file or directory", source=location)
    found = False
    for child in sorted(path.rglob("*")):
        if child.is_file() and child.name.lower().endswith(suffixes):
            found = True
            yield SourceDocument(name=printable(str(child.relative_to(path))), path=child)
    if not found:
        raise BadInput(f"no {' or '.join(suffixes)} files in this directory", source=location)


def read_bytes(document: SourceDocument) -> bytes:
    assert document.path is not None
    try:
        return document.path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(document.path)) from exc


def decode_text(data: bytes, source: str, *, latin1_fallback: bool = False) -> tuple[str, bool]:
    """The text of a document and whether the latin-1 fallback was used."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        if latin1_fallback:
            return data.decode("latin-1"), True
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInput(
            f"not UTF-8 (byte 0x{data[exc.start]:02x}); this format must be UTF-8",
            source=source,
            location=f"line {line}",
        ) from exc


def parse_iso_datetime(
    raw: object, source: str, location: str, *, naive_is_utc: bool = False
) -> datetime:
    """An ISO-8601 time as aware UTC. A time without an offset is refused unless allowed."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadInput(f"missing or invalid date {raw!r}", source=source, location=location)
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"invalid date {raw!r}", source=source, location=location) from exc
    if value.tzinfo is None:
        if not naive_is_utc:
            raise BadInput(f"date without a UTC offset {raw!r}", source=source, location=location)
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # 0001-01-01T00:00+01:00 has no UTC time
        raise BadInput(
            f"date out of range in UTC {raw!r}", source=source, location=location
        ) from exc


def time_zone(name: str | None) -> tzinfo:
    """The zone naive source times are in (``--tz``); UTC when none is named."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {name!r}") from exc


def selector(
    parsed: ParsedSource,
    kind: str,
    raw: str,
    location: str,
    *,
    region: str | None = None,
    platform: str = "",
) -> SelectorRef | None:
    """A normalised selector, or None for a dirty value (``required_selector`` for keys).

    Real evidence is dirty: a member who typed ``none`` as their email is still a member.
    Such a value never becomes a selector; it is kept verbatim (``ParsedSource.note_dirty``),
    counted as a warning the user sees, and put on the sighting of the record it came from
    (``ParsedSource.seen`` with ``None``). The record goes on.
    """
    try:
        result = normalise(kind, raw, region=region)
    except SelectorError as exc:
        parsed.note_dirty(location, kind, storable(raw), str(exc))
        return None
    # The value is made storable here, where its key is made: the store writes the escaped
    # form, and a key that differs from what was written is never found again.
    value, display, platform = storable(result.value), storable(result.display), storable(platform)
    if len(value) > MAX_SELECTOR_CHARS:
        parsed.note_dirty(
            location, kind, storable(raw), f"longer than {MAX_SELECTOR_CHARS} characters"
        )
        return None
    if result.warning:
        parsed.warnings.append(f"{location}: {result.warning}")
    return SelectorRef(kind, value, display, platform)


def required_selector(
    parsed: ParsedSource, kind: str, raw: str, location: str, *, region: str | None = None
) -> SelectorRef:
    """A selector the record is keyed on (an ISP return's IP): impossible is ``BadInput``."""
    found = selector(parsed, kind, raw, location, region=region)
    if found is None:
        parsed.warnings.pop()
        parsed.dirty.pop()
        raise BadInput(f"not a valid {kind}: {raw!r}", source=parsed.name, location=location)
    return found


def clean_hash(raw: object, length: int, source: str, location: str) -> str | None:
    """A lowercase hex digest of ``length`` characters, or None when absent."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip().lower()
    if len(text) != length or _HEX.fullmatch(text) is None:
        raise BadInput(f"not a {length}-hex-digit hash: {raw!r}", source=source, location=location)
    return text
