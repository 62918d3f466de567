"""Independent readers of a synthetic operation's documents, for the synth tests.

They parse the files as written, with no help from the generator's internals, so the tests
check truth.json against what a reader of the evidence would find.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET

JOIN = re.compile(r"^\d\d:\d\d -!- (\S+) \[~?([^@\]]+)@([^\]]+)\] has joined (#\S+)$")
PART = re.compile(r"^\d\d:\d\d -!- (\S+) \[[^\]]+\] has left (#\S+) \[.*\]$")
QUIT = re.compile(r"^\d\d:\d\d -!- (\S+) \[[^\]]+\] has quit \[.*\]$")
MESSAGE = re.compile(r"^\d\d:\d\d <([ @+%])(\S+)> .+$")
DCC = re.compile(
    r"^\d\d:\d\d -!- DCC SEND from (\S+) \[(\S+) port (\d+)\]: (.+) \[(\d+) bytes\] "
    r"sha256=([0-9a-f]{64})$"
)
MODE = re.compile(r"^\d\d:\d\d -!- mode/#\S+ \[.+\] by \S+$")
# docs/formats.md "Triage counts", written out here so the tests do not trust the generator's list
COUNT_KEYS = (
    "files", "bytes", "images", "videos", "known_alert_files", "known_ignorable_files",
    "near_match_files", "unknown_image_files", "series", "errors",
)  # fmt: skip
LOG_LINE = re.compile(r"^--- (Log opened|Log closed|Day changed) .+$")


@dataclass
class SendRecord:
    platform: str
    sender: str
    sha256: str
    recipients: tuple[str, ...]


@dataclass
class Observed:
    """What the documents show: accounts per platform, IPs per account, file sends."""

    accounts: set[tuple[str, str]] = field(default_factory=set)  # (platform, username casefold)
    ips: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    sends: list[SendRecord] = field(default_factory=list)
    victims: set[tuple[str, str]] = field(default_factory=set)

    def saw(self, platform: str, username: str, ip: str | None = None) -> None:
        key = (platform, username.casefold())
        self.accounts.add(key)
        if ip:
            self.ips.setdefault(key, set()).add(ip)


def read_irc(path: Path, platform: str, observed: Observed) -> None:
    present: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := JOIN.match(line):
            observed.saw(platform, match[1], match[3])
            present.add(match[1].casefold())
        elif (match := PART.match(line)) or (match := QUIT.match(line)):
            present.discard(match[1].casefold())
        elif match := DCC.match(line):
            sender = match[1].casefold()
            observed.sends.append(
                SendRecord(platform, sender, match[6], tuple(sorted(present - {sender})))
            )
        elif not (MESSAGE.match(line) or MODE.match(line) or LOG_LINE.match(line)):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")


def read_chat(path: Path, observed: Observed) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        platform = record["platform"]
        observed.saw(platform, record["sender"], record.get("sender_ip"))
        recipients = tuple(sorted(r.casefold() for r in record.get("recipients") or []))
        for name in record.get("recipients") or []:
            observed.saw(platform, name)
        for attachment in record.get("attachments") or []:
            observed.sends.append(
                SendRecord(
                    platform,
                    record["sender"].casefold(),
                    attachment["sha256"],
                    recipients if record["room"] is None else (),
                )
            )
    return records


def read_phpbb(path: Path, observed: Observed) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sitename = db.execute(
            "SELECT config_value FROM phpbb_config WHERE config_name = 'sitename'"
        ).fetchone()[0]
        names = {}
        for user_id, username, user_ip, user_type in db.execute(
            "SELECT user_id, username, user_ip, user_type FROM phpbb_users"
        ):
            names[user_id] = username
            if user_type != 2:  # the board's system accounts (Anonymous, bots) are nobody's
                observed.saw(sitename, username, user_ip)
        for poster_id, poster_ip in db.execute("SELECT poster_id, poster_ip FROM phpbb_posts"):
            observed.saw(sitename, names[poster_id], poster_ip)
        for poster_id, sha256 in db.execute("SELECT poster_id, sha256 FROM phpbb_attachments"):
            observed.sends.append(SendRecord(sitename, names[poster_id].casefold(), sha256, ()))
    finally:
        db.close()
    return sitename


def _reports(path: Path) -> list[Any]:
    root = SafeET.parse(path).getroot()
    return [root] if root.tag == "report" else list(root.findall("report"))


def read_cybertip(path: Path, observed: Observed) -> list[Any]:
    reports = _reports(path)
    for report in reports:
        for tag in ("personOrUserReported", "intendedRecipient", "victim"):
            for block in report.findall(tag):
                platform, name = block.findtext("espService"), block.findtext("screenName")
                assert platform and name, f"{path.name}: {tag} without espService/screenName"
                ips = [e.findtext("ipAddress") for e in block.findall("ipCaptureEvent")]
                observed.saw(platform, name)
                for ip in ips:
                    observed.saw(platform, name, ip)
                if tag == "victim":
                    observed.victims.add((platform, name.casefold()))
    return reports


def read_operation(out: Path, truth: dict[str, Any]) -> Observed:
    observed = Observed()
    for source in truth["sources"]:
        path = out / source["path"]
        if source["format"] == "irc":
            read_irc(path, source["platform"], observed)
        elif source["format"] == "chat-jsonl":
            read_chat(path, observed)
        elif source["format"] == "phpbb":
            read_phpbb(path, observed)
        elif source["format"] == "cybertip":
            read_cybertip(path, observed)
    return observed
