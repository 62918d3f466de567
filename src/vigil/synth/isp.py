"""Subscriber returns: what each country's ISP answers for some of the operation's addresses.

A CGNAT address is answered with several subscribers in consecutive time windows, which is
exactly why an IP alone must not merge people. The first subscriber written with no email on
file had the ISP's clerk type ``none`` there, and the first with no phone ``unlisted``: dirty
values in sound rows, as real returns hold.
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import timedelta
from pathlib import Path

import phonenumbers

from vigil.formats.isp import HEADER
from vigil.synth.ledger import OPERATION_START, Ledger
from vigil.synth.model import FalseFriend, Person
from vigil.synth.names import invented_word

EMAIL_COLUMN, PHONE_COLUMN = HEADER.index("subscriber_email"), HEADER.index("subscriber_phone")
DIRTY_VALUES = {EMAIL_COLUMN: ("email", "none"), PHONE_COLUMN: ("phone", "unlisted")}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write_isp(
    out: Path,
    persons: list[Person],
    isps: dict[str, str],
    false_friends: list[FalseFriend],
    seed: int,
    ledger: Ledger,
) -> None:
    rng = random.Random(f"{seed}:isp")
    folder = out / "isp"
    folder.mkdir(parents=True, exist_ok=True)
    cgnat = {f.value for f in false_friends if f.kind == "cgnat_ip"}
    rows: dict[str, list[list[str]]] = {}
    window_index: dict[str, int] = {}
    for person in persons:
        if person.role == "victim" or not person.ips:
            continue
        wanted = person.role in ("admin", "producer") or rng.random() < 0.4
        shared = [ip for ip in person.ips if ip in cgnat]
        if not wanted and not shared:
            continue
        for ip in person.ips if wanted else shared:
            slot = window_index.get(ip, 0)
            window_index[ip] = slot + 1
            start = OPERATION_START + timedelta(days=7 * slot)
            end = start + timedelta(days=7, seconds=-1)
            phone = ""
            if person.phones and rng.random() < 0.7:
                number = phonenumbers.parse(person.phones[0])
                phone = phonenumbers.format_number(
                    number,
                    rng.choice(
                        [
                            phonenumbers.PhoneNumberFormat.E164,
                            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                        ]
                    ),
                )
                ledger.selector(person, "phone", person.phones[0])
            email = person.emails[0] if person.emails and rng.random() < 0.8 else ""
            ledger.selector(person, "email", email)
            ledger.selector(person, "ip", ip, start)
            rows.setdefault(person.country, []).append(
                [
                    ip,
                    start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    isps[person.country],
                    person.name or "",
                    email,
                    phone,
                    f"{rng.randint(1, 250)} {invented_word(rng, 2)} Street",
                    invented_word(rng, 2),
                    invented_word(rng, 3),
                    person.country,
                    f"ACC{rng.randint(10**6, 10**7 - 1)}",
                    f"REQ-2006-{rng.randint(1000, 9999)}",
                ]
            )
    dirt = dict(DIRTY_VALUES)
    for country in sorted(rows):
        path = folder / f"{_slug(isps[country])}-{country.lower()}.csv"
        written = sorted(rows[country])
        for row in written:
            for column, (kind, value) in list(dirt.items()):
                if not row[column]:
                    row[column] = value
                    ledger.dirty_value(str(path.relative_to(out)), kind, value)
                    del dirt[column]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(written)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        ledger.source("isp", str(path.relative_to(out)), None)
