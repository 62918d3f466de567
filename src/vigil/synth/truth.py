"""truth.json (docs/formats.md): what the operation really is, computed from what was written."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import phonenumbers

from vigil.synth.ledger import Ledger
from vigil.synth.model import FalseFriend, Person, SeriesTruth


def normalise(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "email":
        return value.casefold()
    if kind == "phone":
        return phonenumbers.format_number(
            phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.E164
        )
    if kind == "ip":
        return ipaddress.ip_address(value).compressed
    return value


def camera_value(make: str, model: str, serial: str) -> str:
    return f"{make} {model} {serial}"


def build_truth(
    seed: int,
    scale: str,
    persons: list[Person],
    ledger: Ledger,
    hashsets: list[dict[str, object]],
    false_friends: list[FalseFriend],
    devices: list[dict[str, object]],
    series: list[SeriesTruth],
) -> dict[str, object]:
    owner: dict[tuple[str, str], Person] = {}
    for person in persons:
        for account in person.accounts:
            owner[(account.platform, account.username.casefold())] = person
    sent: dict[str, list[str]] = {}
    recipients: dict[str, set[tuple[str, str]]] = {}
    display: dict[tuple[str, str], str] = {}
    for send in ledger.sends:
        person = owner[(send.platform, send.sender.casefold())]
        sent.setdefault(person.id, []).append(send.file_sha256)
        for username in send.recipients:
            key = (send.platform, username.casefold())
            display.setdefault(key, username)
            recipients.setdefault(person.id, set()).add(key)
    truth_persons = []
    for person in persons:
        selectors = {
            (kind, normalise(kind, value)) for kind, value in ledger.selectors.get(person.id, set())
        }
        if person.camera and person.seized_devices:
            selectors.add(("camera", camera_value(*person.camera)))
        files = sent.get(person.id, [])
        truth_persons.append(
            {
                "id": person.id,
                "role": person.role,
                "country": person.country,
                "name": person.name,
                "accounts": [
                    {"platform": a.platform, "username": a.username, "account_id": a.account_id}
                    for a in person.accounts
                ],
                "selectors": [{"kind": k, "value": v} for k, v in sorted(selectors)],
                "files_sent": len(files),
                "distinct_files_sent": len(set(files)),
                "recipients": [
                    {"platform": p, "username": display[(p, u)]}
                    for p, u in sorted(recipients.get(person.id, set()))
                ],
                "devices": list(person.seized_devices),
            }
        )
    return {
        "seed": seed,
        "scale": scale,
        "sources": ledger.sources,
        "hashsets": hashsets,
        "persons": truth_persons,
        "false_friends": [
            {"kind": f.kind, "value": f.value, "persons": list(f.persons)} for f in false_friends
        ],
        "devices": devices,
        "series": [
            {
                "id": s.id,
                "producer": s.producer,
                "camera_serial": s.camera_serial,
                "sha256": list(s.sha256),
            }
            for s in series
        ],
        # Dirty values written into sound records (path, kind, value): ingest warns, keeps.
        "dirty_values": ledger.dirty,
    }


def write_truth(out: Path, truth: dict[str, object]) -> Path:
    path = out / "truth.json"
    path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
