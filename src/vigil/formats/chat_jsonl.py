"""Chat JSONL, Vigil's generic chat export: one message object per line (docs/formats.md "Chat").

A null ``room`` with ``recipients`` is a direct message: each recipient is a target, and each
attachment is one file send to all of them (docs/formats.md). In a room, attachments are file
sends with no recipients. The account's platform is the line's ``platform`` (``--platform``
only fills it where a line has none). Lines must be UTF-8 and times must carry an offset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from vigil.errors import BadInput, UnsupportedFormat
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_common import (
    clean_hash,
    decode_text,
    file_documents,
    parse_iso_datetime,
    read_bytes,
    selector,
)
from vigil.formats.source_records import (
    MAX_SIZE_BYTES,
    AccountRef,
    EventRecord,
    FileRef,
    ParsedSource,
    ParseOptions,
    SourceDocument,
)


@SOURCE_FORMATS.register("chat-jsonl")
class ChatJsonlParser:
    name: ClassVar[str] = "chat-jsonl"

    def documents(self, location: str) -> Iterator[SourceDocument]:
        return file_documents(location, (".jsonl", ".json", ".ndjson"))

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        parsed = ParsedSource(kind=self.name, name=document.name)
        text, _ = decode_text(read_bytes(document), document.name)
        # Lines end at "\n" only: JSON strings may hold U+2028 and other characters that
        # str.splitlines() would wrongly treat as line ends.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            location = f"line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                error = UnsupportedFormat if parsed.records == 0 else BadInput
                raise error(
                    f"not a JSON object ({exc.msg})", source=document.name, location=location
                ) from exc
            except RecursionError as exc:
                raise BadInput(
                    "JSON nested too deeply", source=document.name, location=location
                ) from exc
            if not isinstance(record, dict):
                raise UnsupportedFormat(
                    "not a JSON object", source=document.name, location=location
                )
            self._line(parsed, record, location, options)
            parsed.records += 1
        if parsed.records == 0:
            raise UnsupportedFormat("no chat messages", source=document.name)
        return parsed

    def _line(
        self, parsed: ParsedSource, record: dict[str, Any], location: str, options: ParseOptions
    ) -> None:
        source = parsed.name
        for key in ("platform", "room", "sender", "sender_id", "sender_ip", "text", "ts"):
            value = record.get(key)
            if value is not None and not isinstance(value, str):
                raise BadInput(
                    f"'{key}' must be a string, not {type(value).__name__}",
                    source=source,
                    location=location,
                )
        platform = _text(record.get("platform")) or options.platform
        sender = _text(record.get("sender"))
        if not platform or not sender:
            raise BadInput(
                "a message needs 'platform' and 'sender'", source=source, location=location
            )
        when = parse_iso_datetime(record.get("ts"), source, location)
        room = _text(record.get("room"))
        recipients_raw = record.get("recipients") or []
        if not isinstance(recipients_raw, list):
            raise BadInput("'recipients' must be a list", source=source, location=location)
        actor = parsed.account(
            AccountRef(platform, sender, _text(record.get("sender_id"))),
            when,
            f"chat {room}" if room else "chat direct message",
        )
        ip = None
        if record.get("sender_ip"):
            ip = selector(parsed, "ip", str(record["sender_ip"]), location)
            parsed.seen(ip, actor, when, "chat sender ip")
        targets: tuple[AccountRef, ...] = ()
        if room is None:
            if not all(isinstance(name, str) for name in recipients_raw):
                raise BadInput("'recipients' must be strings", source=source, location=location)
            names = [_text(name) for name in recipients_raw]
            targets = tuple(
                parsed.account(AccountRef(platform, name), when, "chat direct message recipient")
                for name in names
                if name
            )
        text = record.get("text")
        if isinstance(text, str) and text:
            parsed.events.append(
                EventRecord("message", when, actor, targets=targets, room=room, ip=ip, text=text)
            )
        attachments = record.get("attachments") or []
        if not isinstance(attachments, list):
            raise BadInput("'attachments' must be a list", source=source, location=location)
        for index, attachment in enumerate(attachments):
            if not isinstance(attachment, dict):
                raise BadInput("an attachment must be an object", source=source, location=location)
            file = _file(attachment, source, f"{location} attachment {index + 1}")
            parsed.events.append(
                EventRecord(
                    "file_transfer",
                    when,
                    actor,
                    targets=targets,
                    room=room,
                    file=file,
                    ip=ip,
                    send_key=f"{location}:{index}",
                    extra={"file_name": attachment.get("name")},
                )
            )


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _file(attachment: dict[str, Any], source: str, location: str) -> FileRef | None:
    size = attachment.get("size")
    if size is not None and (
        not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE_BYTES
    ):
        raise BadInput(f"invalid attachment size {size!r}", source=source, location=location)
    md5 = clean_hash(attachment.get("md5"), 32, source, location)
    sha1 = clean_hash(attachment.get("sha1"), 40, source, location)
    sha256 = clean_hash(attachment.get("sha256"), 64, source, location)
    pdq = clean_hash(attachment.get("pdq"), 64, source, location)
    if not (md5 or sha1 or sha256):
        return None
    return FileRef(md5, sha1, sha256, size, _text(attachment.get("name")), pdq)
