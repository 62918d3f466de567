"""``vigil synth --agencies CA,GB,US``: one operation split the way the story split it.

Each agency's folder under ``agencies/CC/`` holds only what that agency had: Canada the
undercover chat logs (IRC and chat exports), Britain the seized forum and the seized
devices, the United States the provider reports; each also gets the subscriber returns of
its own country's ISPs. A story role whose country is not listed goes to the first agency.
``truth.json`` then says, from what the writers recorded, which selectors more than one agency
holds, in the normalised form deconfliction compares (``docs/federation.md``):
``{kind, value, agencies}``. An IP address is shared when two agencies saw it in the same
year (deconfliction's time bucket): its entry adds that ``year``, one entry per year.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from pathlib import Path

from vigil.errors import BadInput
from vigil.synth.ledger import Ledger
from vigil.synth.truth import camera_value, normalise

STORY_ROLES: dict[str, tuple[str, ...]] = {
    "CA": ("irc", "chat"),
    "GB": ("forum", "devices"),
    "US": ("cybertip",),
}
"""Who had what in the story: writer phase -> the folder of the same name."""

_CODE = re.compile(r"^[A-Z]{2}$")


def parse_agencies(text: str) -> list[str]:
    codes = [part.strip().upper() for part in text.split(",") if part.strip()]
    if len(codes) < 2 or len(set(codes)) != len(codes) or not all(_CODE.match(c) for c in codes):
        raise BadInput(
            f"--agencies takes two or more distinct ISO 3166 alpha-2 codes, e.g. CA,GB,US: {text!r}"
        )
    return codes


def _token(kind: str, platform: str, value: str) -> tuple[str, str] | None:
    """(kind, value) as deconfliction compares it; an IP's value is ``year:address``."""
    try:
        if kind == "ip":
            return (kind, f"{platform}:{normalise(kind, value)}") if platform else None
        if kind in ("username", "account"):
            name = value.strip().casefold() if kind == "username" else value.strip()
            return kind, f"{platform.strip().casefold()}:{name}"
        if kind == "phone" and not value.strip().startswith("+"):
            return None
        if kind in ("email", "phone", "ip", "device", "camera", "payment"):
            return kind, normalise(kind, value)
    except ValueError:
        return None
    return None


def _isp_holdings(path: Path) -> tuple[str | None, set[tuple[str, str]]]:
    held: set[tuple[str, str]] = set()
    country: str | None = None
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            country = (row.get("country") or "").strip().upper() or country
            year = (row.get("start_utc") or "")[:4]
            for kind, column in (
                ("ip", "ip"),
                ("email", "subscriber_email"),
                ("phone", "subscriber_phone"),
            ):
                if row.get(column):
                    made = _token(kind, year if kind == "ip" else "", row[column])
                    if made:
                        held.add(made)
    return country, held


def split(
    work: Path,
    codes: list[str],
    ledger: Ledger,
    devices: list[dict[str, object]],
    cameras: dict[str, tuple[str, str, str]],
) -> dict[str, object]:
    """Write ``agencies/CC/`` folders; returns the ``agencies`` and ``shared_selectors`` truth."""
    holder = {
        phase: (country if country in codes else codes[0])
        for country, phases in STORY_ROLES.items()
        for phase in phases
    }
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    folders: dict[str, list[str]] = defaultdict(list)
    for phase, code in sorted(holder.items()):
        source = work / phase
        if not source.exists():
            continue
        shutil.copytree(source, work / "agencies" / code / phase)
        folders[code].append(phase)
        for kind, platform, value in ledger.by_phase.get(phase, set()):
            made = _token(kind, platform, value)
            if made:
                held[code].add(made)
    for device in devices:
        person = str(device["person"])
        if person in cameras and holder["devices"]:
            held[holder["devices"]].add(("camera", camera_value(*cameras[person])))
    for path in sorted((work / "isp").glob("*.csv")):
        country, rows = _isp_holdings(path)
        if country in codes:
            target = work / "agencies" / country / "isp"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)
            held[country] |= rows
            if "isp" not in folders[country]:
                folders[country].append("isp")
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for code in codes:
        for selector in held[code]:
            owners[selector].append(code)
    shared: list[dict[str, object]] = []
    for (kind, value), agencies in sorted(owners.items()):
        if len(agencies) > 1:
            entry: dict[str, object] = {"kind": kind, "value": value, "agencies": sorted(agencies)}
            if kind == "ip":
                entry["year"], _, entry["value"] = value.partition(":")
            shared.append(entry)
    return {
        "agencies": {
            code: {
                "folder": f"agencies/{code}",
                "holds": sorted(folders[code]),
                "selectors": len(held[code]),
            }
            for code in codes
        },
        "shared_selectors": shared,
    }
