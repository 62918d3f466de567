"""irssi-style IRC logs with joins, parts, quits, messages and DCC SEND offers.

Recipients of a DCC SEND are computed by replaying the very lines written (docs/formats.md): every
nick present in the room at that moment according to this log, excluding the sender.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.synth.ledger import FILLER, OPERATION_START, Ledger, Traffic, accounts_on
from vigil.synth.model import Account, MediaFile, Person, Send
from vigil.synth.world import IRC_PLATFORM

ROOMS = ["#lounge", "#exchange", "#photos", "#offtopic", "#archive", "#nightowls"]


@dataclass
class _Event:
    at: datetime
    order: int
    kind: str  # join|part|quit|msg|dcc
    account: Account
    text: str = ""
    media: MediaFile | None = None


def _ident(account: Account) -> str:
    return "~" + (re.sub(r"[^a-z0-9]", "", account.username.lower()) or "user")[:9]


def _sessions(
    rng: random.Random, days: int, active_days: tuple[int, int] | None = None
) -> list[tuple[datetime, datetime]]:
    sessions: list[tuple[datetime, datetime]] = []
    window = range(*active_days) if active_days else range(days)
    for day in sorted(rng.sample(window, min(len(window), rng.randint(1, 4)))):
        start = OPERATION_START + timedelta(days=day, minutes=rng.randrange(0, 240))
        sessions.append((start, start + timedelta(minutes=rng.randint(30, 300))))
    return sessions


def write_irc(traffic: Traffic, rooms_count: int) -> None:
    out, ledger = traffic.out, traffic.ledger
    rng = traffic.rng("irc")
    members = accounts_on(traffic.persons, IRC_PLATFORM)
    rooms = ROOMS[:rooms_count]
    membership: dict[str, list[tuple[Person, Account]]] = {room: [] for room in rooms}
    for person, account in members:
        chosen = rooms if person.role == "admin" else rng.sample(rooms, rng.choice([1, 1, 2]))
        for room in chosen:
            membership[room].append((person, account))
    single_room = {
        id(a)
        for _, a in members
        if sum(a is acc for room in rooms for _, acc in membership[room]) == 1
    }
    folder = out / "irc" / IRC_PLATFORM
    folder.mkdir(parents=True, exist_ok=True)
    for room in rooms:
        events = _room_events(rng, traffic, membership[room], single_room)
        path = folder / f"{room}.log"
        path.write_text(_render(room, events, ledger, membership[room]), encoding="utf-8")
        ledger.source("irc", str(path.relative_to(out)), IRC_PLATFORM)


def _room_events(
    rng: random.Random,
    traffic: Traffic,
    members: list[tuple[Person, Account]],
    single_room: set[int],
) -> list[_Event]:
    days = traffic.days
    events: list[_Event] = []
    order = 0
    for person, account in members:
        for start, end in _sessions(rng, days, account.active_days):
            events.append(_Event(start, order, "join", account))
            leave = "quit" if id(account) in single_room and rng.random() < 0.5 else "part"
            events.append(_Event(end, order + 1, leave, account, rng.choice(FILLER)))
            minutes = int((end - start).total_seconds() // 60)
            for _ in range(rng.randint(1, 4)):
                at = start + timedelta(minutes=rng.randint(1, max(1, minutes - 1)))
                events.append(_Event(at, order + 1, "msg", account, rng.choice(FILLER)))
            sends = {
                "distributor": rng.randint(2, 6),
                "producer": rng.randint(1, 3),
                "admin": rng.randint(0, 2),
            }.get(person.role, int(rng.random() < 0.15))
            for media in traffic.files_for(rng, person, sends):
                at = start + timedelta(minutes=rng.randint(1, max(1, minutes - 1)))
                events.append(_Event(at, order + 1, "dcc", account, media=media))
            order += 2
    events.sort(key=lambda e: (e.at, e.order, e.kind))
    return events


def _render(
    room: str, events: list[_Event], ledger: Ledger, members: list[tuple[Person, Account]]
) -> str:
    owner = {id(a): p for p, a in members}
    rng = random.Random(room)
    first = events[0].at if events else OPERATION_START
    lines = [f"--- Log opened {first:%a %b %d %H:%M:%S %Y}"]
    day = first.date()
    present: dict[str, Account] = {}
    for event in events:
        if event.at.date() != day:
            day = event.at.date()
            lines.append(f"--- Day changed {event.at:%a %b %d %Y}")
        stamp = f"{event.at:%H:%M}"
        account, person = event.account, owner[id(event.account)]
        nick, host = account.username, f"{_ident(account)}@{account.ip}"
        if event.kind == "join":
            present[nick.casefold()] = account
            lines.append(f"{stamp} -!- {nick} [{host}] has joined {room}")
            ledger.account(account)
            ledger.selector(person, "ip", account.ip, event.at)
            if person.role in ("admin", "distributor"):
                flag = "+o" if person.role == "admin" else "+v"
                lines.append(f"{stamp} -!- mode/{room} [{flag} {nick}] by ChanServ")
        elif event.kind == "part":
            present.pop(nick.casefold(), None)
            lines.append(f"{stamp} -!- {nick} [{host}] has left {room} [{event.text}]")
        elif event.kind == "quit":
            present.pop(nick.casefold(), None)
            lines.append(f"{stamp} -!- {nick} [{host}] has quit [Quit: {event.text}]")
        elif event.kind == "msg" and nick.casefold() in present:
            mode = {"admin": "@", "distributor": "+"}.get(person.role, " ")
            lines.append(f"{stamp} <{mode}{nick}> {event.text}")
        elif event.kind == "dcc" and event.media and nick.casefold() in present:
            media = event.media
            port = rng.randint(1024, 65000)
            lines.append(
                f"{stamp} -!- DCC SEND from {nick} [{account.ip} port {port}]: "
                f"{media.name} [{media.size_bytes} bytes] sha256={media.sha256}"
            )
            recipients = tuple(
                a.username for key, a in sorted(present.items()) if key != nick.casefold()
            )
            ledger.sends.append(Send(IRC_PLATFORM, nick, media.sha256, recipients, event.at))
    last = events[-1].at if events else first
    lines.append(f"--- Log closed {last:%a %b %d %H:%M:%S %Y}")
    return "\n".join(lines) + "\n"
