"""Seized-device folders: an independent recount equals truth.json's expected triage counts.

The recount walks each folder, opens archives in memory, detects images and videos by magic
bytes, loads the alert and ignorable hashes from the hash-set files themselves, and computes
PDQ with pdqhash from a full Pillow decode.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pdqhash
import pytest
from iptocc import country_code
from PIL import Image

from tests.synth_cache import synth_operation
from tests.synth_readers import COUNT_KEYS

RADIUS_BITS = 31
BODY_SERIAL = 0xA431
EXIF_IFD = 0x8769


@dataclass
class Found:
    path: str
    data: bytes
    kind: str | None  # "image" | "video" | None


@dataclass
class Sets:
    alert: set[str] = field(default_factory=set)
    ignorable: set[str] = field(default_factory=set)
    alert_pdq: list[int] = field(default_factory=list)


@pytest.fixture(scope="session")
def operation() -> Path:
    """Seed 1 at small scale, generated once per test process (shared with other areas)."""
    return synth_operation(1)


def _kind(data: bytes) -> str | None:
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8")):
        return "image"
    if data[4:8] == b"ftyp":
        return "video"
    return None


def walk(root: Path) -> list[Found]:
    found: list[Found] = []

    def add(name: str, data: bytes) -> None:
        found.append(Found(name, data, _kind(data)))
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        add(f"{name}!{info.filename}", archive.read(info))

    for path in sorted(root.rglob("*")):
        if path.is_file():
            add(str(path.relative_to(root)), path.read_bytes())
    return found


def load_sets(out: Path) -> Sets:
    sets = Sets()
    for name in ("known-vics2.json", "known-vics1.json"):
        document = json.loads((out / "hashsets" / name).read_text(encoding="utf-8-sig"))
        media = document["value"] if "@odata.context" in document else document["value"][0]["Media"]
        for entry in media:
            sets.alert.update({entry["MD5"].lower(), entry["SHA1"].lower()})
            for alternative in entry["AlternativeHashes"]:
                if alternative["HashName"] == "PDQ":
                    sets.alert_pdq.append(int(alternative["HashValue"], 16))
                else:
                    sets.alert.add(alternative["HashValue"].lower())
    with (out / "hashsets" / "icse-baseline.csv").open() as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            sets.alert.update({row["MD5"].lower(), row["SHA1"].lower()})
    db = sqlite3.connect(out / "hashsets" / "nsrl-rds.db")
    try:
        for row in db.execute("SELECT sha256, sha1, md5 FROM FILE"):
            sets.ignorable.update(value.lower() for value in row)
    finally:
        db.close()
    with (out / "hashsets" / "NSRLFile.txt").open() as handle:
        for row in csv.DictReader(handle):
            sets.ignorable.update({row["SHA-1"].lower(), row["MD5"].lower()})
    return sets


def decode(data: bytes) -> tuple[int | None, str | None]:
    """(PDQ as an int, EXIF body serial), or (None, None) when the image cannot be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            serial = image.getexif().get_ifd(EXIF_IFD).get(BODY_SERIAL)
            pixels = np.asarray(image.convert("RGB"))
    except OSError:
        return None, None
    bits, _quality = pdqhash.compute(pixels)
    return int("".join(str(int(b)) for b in bits), 2), serial


def recount(root: Path, sets: Sets) -> dict[str, int]:
    counts = dict.fromkeys(
        COUNT_KEYS,
        0,
    )
    serials: dict[str, int] = {}
    for item in walk(root):
        data = item.data
        counts["files"] += 1
        counts["bytes"] += len(data)
        counts["images"] += item.kind == "image"
        counts["videos"] += item.kind == "video"
        digests = {
            hashlib.md5(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
        }
        pdq, serial = decode(data) if item.kind == "image" else (None, None)
        if item.kind == "image" and pdq is None:
            counts["errors"] += 1
        if digests & sets.alert:
            counts["known_alert_files"] += 1
        elif pdq is not None and any((pdq ^ k).bit_count() <= RADIUS_BITS for k in sets.alert_pdq):
            counts["near_match_files"] += 1
        elif digests & sets.ignorable:
            counts["known_ignorable_files"] += 1
        elif item.kind == "image":
            counts["unknown_image_files"] += 1
            if serial:
                serials[serial] = serials.get(serial, 0) + 1
    counts["series"] = sum(1 for n in serials.values() if n >= 2)
    return counts


@pytest.fixture(scope="module")
def truth(operation: Path) -> dict[str, Any]:
    return json.loads((operation / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sets(operation: Path) -> Sets:
    return load_sets(operation)


def test_every_device_count_equals_an_independent_recount(
    operation: Path,
    truth: dict[str, Any],
    sets: Sets,
) -> None:
    totals: dict[str, int] = {}
    for device in truth["devices"]:
        counts = recount(operation / device["path"], sets)
        assert counts == device["expected"], device["id"]
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    # the operation exercises every category, and exactly one deliberate error
    for key in set(COUNT_KEYS) - {"files", "bytes", "errors"}:
        assert totals[key] > 0, key
    assert totals["errors"] == 1
    assert totals["videos"] == 2


def test_images_decode_except_the_one_truncated_jpeg(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    broken = []
    for device in truth["devices"]:
        for item in walk(operation / device["path"]):
            if item.kind == "image" and decode(item.data)[0] is None:
                broken.append((device["id"], item.path, item.data[:3]))
    assert len(broken) == 1 and broken[0][2] == b"\xff\xd8\xff"


def test_quirky_files_exist(operation: Path, truth: dict[str, Any], sets: Sets) -> None:
    items = [i for d in truth["devices"] for i in walk(operation / d["path"])]
    nested = [i for i in items if i.path.count("!") == 2]
    assert any(i.kind == "image" for i in nested), "images inside a zip inside a zip"
    assert any(i.path.endswith(".txt") and i.data.startswith(b"\x89PNG") for i in items)
    assert any(i.kind is None and i.path.endswith(".pdf") for i in items)
    videos = [i for i in items if i.kind == "video"]
    assert len(videos) == 2
    for video in videos:
        frames = 0
        with av.open(io.BytesIO(video.data)) as container:
            for frame in container.decode(video=0):
                frames += 1
                bits, _quality = pdqhash.compute(frame.to_ndarray(format="rgb24"))
                pdq = int("".join(str(int(b)) for b in bits), 2)
                # no frame is near known material: a clip is a video, never a near match
                assert all((pdq ^ k).bit_count() > RADIUS_BITS for k in sets.alert_pdq)
        assert frames >= 20


def test_pdq_promises_hold_on_disk(
    operation: Path,
    truth: dict[str, Any],
    sets: Sets,
) -> None:
    near, unknown_plain, serial_of = [], [], {}
    for device in truth["devices"]:
        for item in walk(operation / device["path"]):
            if item.kind != "image":
                continue
            pdq, serial = decode(item.data)
            digests = {hashlib.md5(item.data).hexdigest(), hashlib.sha256(item.data).hexdigest()}
            if pdq is None or digests & (sets.alert | sets.ignorable):
                continue
            nearest = min((pdq ^ k).bit_count() for k in sets.alert_pdq)
            if nearest <= RADIUS_BITS:
                near.append(nearest)
            elif serial:
                serial_of[hashlib.sha256(item.data).hexdigest()] = serial
            else:
                unknown_plain.append((hashlib.sha256(item.data).hexdigest(), pdq))
    assert near and max(near) <= RADIUS_BITS
    distinct = dict(unknown_plain)
    assert len(distinct) >= 10
    for (_, first), (_, second) in itertools.combinations(distinct.items(), 2):
        assert (first ^ second).bit_count() > RADIUS_BITS
    for series in truth["series"]:
        on_disk = {sha for sha, serial in serial_of.items() if serial == series["camera_serial"]}
        assert on_disk and on_disk <= set(series["sha256"])


def test_series_first_appear_on_their_producers_device(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    devices = {d["person"]: d for d in truth["devices"]}
    for series in truth["series"]:
        device = devices[series["producer"]]
        shas = {hashlib.sha256(i.data).hexdigest() for i in walk(operation / device["path"])}
        assert set(series["sha256"]) <= shas
        assert device["expected"]["series"] >= 1


@pytest.mark.parametrize("seed", [2, 3])
def test_invariants_hold_for_other_seeds(seed: int) -> None:
    """Not one lucky seed: the recount and the geolocation promise hold for others too."""
    out = synth_operation(seed)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == seed
    other_sets = load_sets(out)
    for device in truth["devices"]:
        assert recount(out / device["path"], other_sets) == device["expected"], device["id"]
    for person in truth["persons"]:
        for selector in person["selectors"]:
            if selector["kind"] == "ip":
                assert country_code(selector["value"]) == person["country"]


def test_no_content_twice_on_one_device(operation: Path, truth: dict[str, Any]) -> None:
    """Counts per file and per content agree only if a device never holds a copy twice."""
    for device in truth["devices"]:
        shas = [hashlib.sha256(i.data).hexdigest() for i in walk(operation / device["path"])]
        assert len(shas) == len(set(shas)), device["id"]
