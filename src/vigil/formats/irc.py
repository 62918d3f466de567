"""irssi IRC logs (docs/formats.md "Chat"): who was in the room, who said what, who offered
which file.

- ``--- Log opened Tue Mar 14 21:00:00 2006`` and ``--- Day changed Wed Mar 15 2006`` set the
  date; a timed line before either is bad input (there is no date to give it).
- Times are naive in irssi logs: they are read as UTC unless ``--tz`` names the zone the
  logging machine ran in.
- The channel comes from a join line, else from the file name (``#room.log``).
- The account platform is ``--platform`` (the network), else ``irc``.
- A ``DCC SEND`` is one file send (docs/formats.md) whose recipients are the nicks present in the
  room at that moment, by this log's join/part/quit/kick/nick lines, less the sender.
- Encoding: UTF-8, falling back to latin-1 for the whole log (with a warning), because old
  clients logged in the local codepage.
- A join's host that looks like an address but is impossible (``999.1.1.1``) is bad input.
- Channel status (``<@nick>``, ``mode/#room [+o nick]``) is kept once per log as an account
  sighting with ``extra["modes"]`` (``@`` operator, ``%`` half-op, ``+`` voice) and
  ``extra["channel"]``: who runs the room.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import ClassVar

from vigil.errors import BadInput, UnsupportedFormat
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_common import (
    decode_text,
    file_documents,
    read_bytes,
    selector,
    time_zone,
)
from vigil.formats.source_records import (
    MAX_SIZE_BYTES,
    AccountRef,
    EventRecord,
    FileRef,
    ParsedSource,
    ParseOptions,
    SourceDocument,
    storable,
)

_LOG_OPENED = re.compile(r"^--- Log opened (?P<stamp>.+?)\s*$")
_LOG_CLOSED = re.compile(r"^--- Log closed")
_DAY_CHANGED = re.compile(r"^--- Day changed (?P<stamp>.+?)\s*$")
_TIMED = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))? (?P<rest>.*)$")
_MESSAGE = re.compile(r"^<(?P<mode>[ @+%~&]?)(?P<nick>[^>\s]+)> ?(?P<text>.*)$")
_MODE = re.compile(r"^-!- mode/(?P<chan>\S+) \[(?P<modes>[+-][a-zA-Z+-]+)(?P<args>(?: \S+)*)\] by ")
_ACTION = re.compile(r"^ \* (?P<nick>\S+) (?P<text>.*)$")
_JOIN = re.compile(
    r"^-!- (?P<nick>\S+) \[(?P<user>[^@\]]*)@(?P<host>[^\]]+)\] has joined (?P<chan>\S+)"
)
_PART = re.compile(r"^-!- (?P<nick>\S+) \[[^\]]*\] has left (?P<chan>\S+)")
_QUIT = re.compile(r"^-!- (?P<nick>\S+) \[[^\]]*\] has quit")
_KICK = re.compile(r"^-!- (?P<nick>\S+) was kicked from (?P<chan>\S+)")
_NICK = re.compile(r"^-!- (?P<old>\S+) is now known as (?P<new>\S+)")
_DCC = re.compile(
    r"^-!- DCC SEND from (?P<nick>\S+) \[(?P<ip>[^\] ]+) port (?P<port>\d+)\]: "
    r"(?P<name>.+?) \[(?P<size>\d+) bytes\](?: sha256=(?P<sha>\S+))?\s*$"
)
_LOOKS_LIKE_IP = re.compile(r"^[0-9.]+$|:")


@SOURCE_FORMATS.register("irc")
class IrcLogParser:
    name: ClassVar[str] = "irc"

    def documents(self, location: str) -> Iterator[SourceDocument]:
        return file_documents(location, (".log", ".txt"))

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        return _LogReader(document, options).read()


class _LogReader:
    def __init__(self, document: SourceDocument, options: ParseOptions):
        self.parsed = ParsedSource(kind="irc", name=document.name)
        self.document = document
        self.platform = storable(options.platform or "irc")  # as every account's platform
        self.zone = time_zone(options.tz)
        stem = Path(document.name).name
        self.channel: str | None = stem[: -len(".log")] if stem.endswith(".log") else None
        if self.channel is not None and not self.channel.startswith(("#", "&")):
            self.channel = None
        self.day: date | None = None
        self.present: dict[str, str] = {}  # casefolded nick -> nick as written
        self.modes_seen: set[tuple[str, str]] = set()

    def read(self) -> ParsedSource:
        parsed = self.parsed
        text, fell_back = decode_text(read_bytes(self.document), parsed.name, latin1_fallback=True)
        if fell_back:
            parsed.warnings.append("not UTF-8: read as latin-1")
        lines = text.replace("\r\n", "\n").split("\n")
        cut_short = bool(text) and not text.endswith(("\n", "\r"))
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                self._line(line, f"line {number}")
            except BadInput:
                if not (cut_short and number == len(lines)) or self.day is None:
                    raise
                # A client that crashed leaves its last line cut short: keep the rest.
                parsed.warnings.append(f"line {number}: last line cut short, skipped")
                continue
            parsed.records += 1
        if self.day is None:
            raise UnsupportedFormat(
                "no '--- Log opened' line: not an irssi log", source=parsed.name
            )
        parsed.extra = {"channel": self.channel, "network": self.platform}
        return parsed

    def _line(self, line: str, location: str) -> None:
        if opened := _LOG_OPENED.match(line):
            self.day = self._stamp(opened["stamp"], "%a %b %d %H:%M:%S %Y", location).date()
            return
        if changed := _DAY_CHANGED.match(line):
            self.day = self._stamp(changed["stamp"], "%a %b %d %Y", location).date()
            return
        if _LOG_CLOSED.match(line) or line.startswith("---"):
            return
        timed = _TIMED.match(line)
        if timed is None:
            if self.day is None and self.parsed.records == 0:
                raise UnsupportedFormat(
                    "not an irssi log line", source=self.parsed.name, location=location
                )
            self.parsed.warnings.append(f"{location}: line not understood, skipped")
            return
        if self.day is None:
            raise BadInput(
                "a timed line before any '--- Log opened'",
                source=self.parsed.name,
                location=location,
            )
        when = self._when(timed, location)
        self._event(timed["rest"], when, location)

    def _event(self, rest: str, when: datetime, location: str) -> None:
        parsed = self.parsed
        if message := _MESSAGE.match(rest) or _ACTION.match(rest):
            actor = self._account(message["nick"], when, "irc message")
            mode = message.groupdict().get("mode", "").strip()
            if mode:
                self._channel_mode(message["nick"], mode, when)
            parsed.events.append(
                EventRecord("message", when, actor, room=self.channel, text=message["text"])
            )
        elif dcc := _DCC.match(rest):
            self._dcc(dcc, when, location)
        elif join := _JOIN.match(rest):
            self.channel = self.channel or join["chan"]
            actor = self._account(join["nick"], when, f"irc join {join['chan']}")
            self.present[join["nick"].casefold()] = join["nick"]
            host = join["host"].strip()
            if _LOOKS_LIKE_IP.search(host):
                ip = selector(parsed, "ip", host, location)
                parsed.seen(
                    ip, actor, when, f"irc join {join['chan']}", extra={"ident": join["user"]}
                )
        elif part := _PART.match(rest) or _KICK.match(rest) or _QUIT.match(rest):
            self.present.pop(part["nick"].casefold(), None)
        elif mode_change := _MODE.match(rest):
            self._mode_line(mode_change, when)
        elif nick := _NICK.match(rest):
            self.present.pop(nick["old"].casefold(), None)
            self.present[nick["new"].casefold()] = nick["new"]
            self._account(nick["new"], when, f"irc nick change from {nick['old']}")

    def _dcc(self, dcc: re.Match[str], when: datetime, location: str) -> None:
        parsed = self.parsed
        sender = self._account(dcc["nick"], when, "irc dcc send")
        ip = selector(parsed, "ip", dcc["ip"], location)
        parsed.seen(ip, sender, when, "irc dcc send")
        sha256 = dcc["sha"]
        if sha256 is not None:
            sha256 = sha256.lower()
            if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
                raise BadInput(
                    f"invalid sha256 {dcc['sha']!r}", source=parsed.name, location=location
                )
        name = dcc["name"].strip()
        size = int(dcc["size"])
        if size > MAX_SIZE_BYTES:
            raise BadInput(f"file size out of range: {size}", source=parsed.name, location=location)
        recipients = tuple(
            AccountRef(self.platform, storable(nick))
            for folded, nick in sorted(self.present.items())
            if folded != dcc["nick"].casefold()
        )
        parsed.events.append(
            EventRecord(
                "file_transfer",
                when,
                sender,
                room=self.channel,
                room_recipients=recipients,
                file=FileRef(sha256=sha256, size_bytes=size, name=name) if sha256 else None,
                ip=ip,
                send_key=location,
                extra={"file_name": name, "size_bytes": size, "port": int(dcc["port"])},
            )
        )

    def _mode_line(self, change: re.Match[str], when: datetime) -> None:
        """``mode/#room [+o nick] by ChanServ``: who was given operator (or voice) status."""
        args = change["args"].split()
        sign = "+"
        for letter in change["modes"]:
            if letter in "+-":
                sign = letter
            elif letter in "ohv" and args:
                nick = args.pop(0)
                if sign == "+":
                    self._channel_mode(nick, {"o": "@", "h": "%", "v": "+"}[letter], when)
            elif letter in "bkleIq" and args:  # modes whose argument is not a nick
                args.pop(0)

    def _channel_mode(self, nick: str, mode: str, when: datetime) -> None:
        """An account's channel status, once per log: ``extra["modes"]`` (``@`` = operator)."""
        key = (nick.casefold(), mode)
        if key in self.modes_seen:
            return
        self.modes_seen.add(key)
        self.parsed.account(
            AccountRef(self.platform, nick),
            when,
            f"irc channel mode {mode}",
            extra={"modes": mode, "channel": self.channel},
        )

    def _account(self, nick: str, when: datetime, context: str) -> AccountRef:
        return self.parsed.account(AccountRef(self.platform, nick), when, context)

    def _stamp(self, text: str, pattern: str, location: str) -> datetime:
        try:
            return datetime.strptime(text, pattern)
        except ValueError as exc:
            raise BadInput(
                f"invalid date {text!r}", source=self.parsed.name, location=location
            ) from exc

    def _when(self, timed: re.Match[str], location: str) -> datetime:
        assert self.day is not None
        try:
            clock = time(int(timed["h"]), int(timed["m"]), int(timed["s"] or 0))
        except ValueError as exc:
            raise BadInput(
                f"invalid time {timed['h']}:{timed['m']}",
                source=self.parsed.name,
                location=location,
            ) from exc
        return datetime.combine(self.day, clock, tzinfo=self.zone).astimezone(UTC)
