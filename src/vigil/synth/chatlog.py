"""Chat JSONL exports (Vigil's generic chat format): rooms, direct messages, attachments.

A DM (room null) lists its recipients; each attachment is one file send (docs/formats.md). Room
attachments are sends without recipients.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta, timezone

from vigil.synth.ledger import FILLER, Traffic, accounts_on, moment
from vigil.synth.model import Account, MediaFile, Person, Send
from vigil.synth.world import CHAT_PLATFORMS

CHAT_ROOMS = ["general", "swap", "random", "newcomers"]
_OFFSETS_HOURS = [0, 0, 1, -5, 2, -3, 10, 8]


def _attachment(rng: random.Random, media: MediaFile) -> dict[str, object]:
    entry: dict[str, object] = {"name": media.name, "size": media.size_bytes}
    if rng.random() < 0.8:
        entry["md5"] = media.md5
    if rng.random() < 0.3:
        entry["sha1"] = media.sha1
    entry["sha256"] = media.sha256
    if media.pdq and rng.random() < 0.6:
        entry["pdq"] = media.pdq
    return entry


def write_chat(traffic: Traffic) -> None:
    out, ledger = traffic.out, traffic.ledger
    folder = out / "chat"
    folder.mkdir(parents=True, exist_ok=True)
    for platform in CHAT_PLATFORMS:
        rng = traffic.rng(f"chat:{platform}")
        members = accounts_on(traffic.persons, platform)
        if not members:
            continue
        offsets = {id(a): timezone(timedelta(hours=rng.choice(_OFFSETS_HOURS))) for _, a in members}
        records: list[tuple[object, int, dict[str, object]]] = []
        for person, account in members:
            sent_ip = False
            for _ in range(_message_count(rng, person)):
                at = moment(rng, traffic.days, account.active_days)
                record: dict[str, object] = {
                    "platform": platform,
                    "room": None,
                    "ts": at.astimezone(offsets[id(account)]).isoformat(),
                    "sender": account.username,
                    "sender_id": account.account_id,
                }
                if not sent_ip or rng.random() < 0.4:
                    record["sender_ip"] = account.ip
                    ledger.selector(person, "ip", account.ip, at)
                    sent_ip = True
                recipients: tuple[Account, ...] = ()
                if rng.random() < 0.45 and len(members) > 1:
                    fan_out = (
                        rng.randint(3, 8) if person.role == "distributor" else rng.randint(1, 2)
                    )
                    others = [a for _, a in members if a is not account]
                    recipients = tuple(rng.sample(others, min(fan_out, len(others))))
                    record["recipients"] = [a.username for a in recipients]
                else:
                    record["room"] = rng.choice(CHAT_ROOMS)
                record["text"] = rng.choice(FILLER)
                files = traffic.files_for(rng, person, _attachment_count(rng, person))
                if files:
                    record["attachments"] = [_attachment(rng, media) for media in files]
                    for media in files:
                        ledger.sends.append(
                            Send(
                                platform,
                                account.username,
                                media.sha256,
                                tuple(a.username for a in recipients),
                                at,
                            )
                        )
                ledger.account(account)
                records.append((at, len(records), record))
        records.sort(key=lambda item: (item[0], item[1]))
        path = folder / f"{platform.lower()}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for _, _, record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        ledger.source("chat-jsonl", str(path.relative_to(out)), platform)


def _message_count(rng: random.Random, person: Person) -> int:
    return {
        "distributor": rng.randint(10, 25),
        "admin": rng.randint(8, 15),
        "producer": rng.randint(5, 10),
    }.get(person.role, rng.randint(1, 6))


def _attachment_count(rng: random.Random, person: Person) -> int:
    chance = {"distributor": 0.6, "producer": 0.5, "admin": 0.2}.get(person.role, 0.08)
    return rng.randint(1, 3) if rng.random() < chance else 0
