"""Seized-device folders for a handful of suspects, and their expected triage counts.

The counts follow docs/formats.md "Triage counts" and are computed by walking what was written
(archives opened in memory), looking each file's content up in the operation's hash sets.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
from PIL import Image

from vigil.synth.media import distance_bits, encode, pdq_bits_hex, pdq_of_bytes, tiny_video
from vigil.synth.model import MediaFile, Person
from vigil.synth.pool import FAR_MIN_BITS, MATCH_RADIUS_BITS, MediaPool, pdf_document

ZIP_TIME = (2006, 3, 1, 12, 0, 0)
# docs/formats.md "Triage counts", in the order of the triage summary (without its `seconds`)
COUNT_KEYS = (
    "files", "bytes", "images", "videos", "known_alert_files", "known_ignorable_files",
    "near_match_files", "unknown_image_files", "series", "errors",
)  # fmt: skip
_NOTES = [
    "shopping list",
    "call back tuesday",
    "backup drive in the drawer",
    "router password reset",
]


@dataclass
class DevicePlan:
    id: str
    person: Person
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    zips: list[str] = field(default_factory=list)


def _put(plan: DevicePlan, folder: str, name: str, data: bytes) -> None:
    path = f"{folder}/{name}"
    stem, dot, ext = name.rpartition(".")
    number = 1
    while path in plan.files:
        number += 1
        path = f"{folder}/{stem}_{number}{dot}{ext}"
    plan.files[path] = data


def choose_owners(persons: list[Person], count: int) -> list[Person]:
    by_role = {
        role: [p for p in persons if p.role == role]
        for role in ("admin", "distributor", "producer", "collector")
    }
    owners = by_role["admin"] + by_role["producer"] + by_role["distributor"][:2]
    owners += by_role["collector"][: max(1, count - len(owners))]
    return owners[:count] if len(owners) > count else owners


def plan_devices(seed: int, pool: MediaPool, owners: list[Person]) -> list[DevicePlan]:
    rng = random.Random(f"{seed}:devices")
    nrng = np.random.default_rng(rng.getrandbits(64))
    producers = [p for p in owners if p.role == "producer"] or owners
    plans = []
    for number, person in enumerate(owners, start=1):
        plan = DevicePlan(f"D{number:02d}", person)
        person.seized_devices.append(plan.id)
        weight = {"admin": 2, "distributor": 3}.get(person.role, 1)
        taken: set[str] = set()

        def some(items: list[MediaFile], count: int, taken: set[str] = taken) -> list[MediaFile]:
            fresh = [m for m in items if m.sha256 not in taken]
            chosen = rng.sample(fresh, min(count, len(fresh)))
            taken.update(m.sha256 for m in chosen)
            return chosen

        for media in some(pool.known, rng.randint(2, 4) * weight):
            _put(plan, "Pictures", media.name, media.data)
        for media in some(pool.near, rng.randint(1, 3) * weight):
            _put(plan, "Downloads", media.name, media.data)
        for media in some(pool.unknown, rng.randint(3, 5) * weight):
            _put(plan, "Pictures/misc", media.name, media.data)
        for media in some(pool.ignorable, rng.randint(3, 6)):
            _put(plan, "Program Files/Sample Suite", media.name, media.data)
        if person.camera:
            for items in pool.series.values():
                if items[0].camera == person.camera:
                    for media in items:
                        _put(plan, "DCIM/100CAMERA", media.name, media.data)
                        taken.add(media.sha256)
        elif person.role in ("distributor", "collector"):
            producer = producers[number % len(producers)]
            own = [items for items in pool.series.values() if items[0].camera == producer.camera]
            received = rng.randint(2, 3) if person.role == "distributor" else rng.choice([0, 2])
            for media in some(own[0] if own else [], received):
                _put(plan, "Downloads/new", media.name, media.data)
        _put(plan, "Documents", "notes.txt", (rng.choice(_NOTES) + "\n").encode())
        _put(
            plan,
            "Documents",
            f"letter_{number}.pdf",
            pdf_document([f"Letter {number}", rng.choice(_NOTES)]),
        )
        plans.append(plan)
    _quirks(rng, nrng, pool, plans)
    return plans


def _quirks(
    rng: random.Random, nrng: np.random.Generator, pool: MediaPool, plans: list[DevicePlan]
) -> None:
    """The files that make triage honest: a nested zip, videos, a wrong extension, a truncation."""
    archive_plan = plans[0]
    # Archive members are files this device does not already hold, so every count is
    # unambiguous (no content both loose and inside the archive).
    held = {hashlib.sha256(data).digest() for data in archive_plan.files.values()}
    fresh = {
        kind: [m for m in reversed(items) if bytes.fromhex(m.sha256) not in held]
        for kind, items in (("known", pool.known), ("near", pool.near), ("unknown", pool.unknown))
    }
    known, near = fresh["known"][0], fresh["near"][0]
    first_unknown, second_unknown = fresh["unknown"][:2]
    inner = _zip(
        {
            "old/one.jpg": near.data,
            "old/two.jpg": first_unknown.data,
            "old/readme.txt": b"old photos\n",
        }
    )
    outer = _zip(
        {
            "photos/" + known.name: known.data,
            "photos/" + second_unknown.name: second_unknown.data,
            "photos/list.txt": b"backup of the old laptop\n",
            "old/inner.zip": inner,
        }
    )
    archive_plan.files["Downloads/backup.zip"] = outer
    archive_plan.zips.append("Downloads/backup.zip")
    video_plan = plans[1 % len(plans)]
    for number in range(2):
        clip = tiny_video(nrng, 2 + number)
        while not _frames_far_from(clip, pool):
            clip = tiny_video(nrng, 2 + number)
        video_plan.files[f"Videos/clip_{number + 1}.mp4"] = clip
    wrong = plans[2 % len(plans)]
    with Image.open(io.BytesIO(pool.special[0].data)) as image:
        wrong.files["Documents/readme_old.txt"] = encode(image.convert("RGB"), "PNG")
    broken = plans[3 % len(plans)]
    data = pool.special[1].data
    broken.files["Pictures/IMG_BROKEN.jpg"] = data[: len(data) * 2 // 5]


def _frames_far_from(clip: bytes, pool: MediaPool) -> bool:
    """No decoded frame may come near known material, or triage would call the clip a match."""
    known = [int(m.pdq, 16) for m in pool.known if m.pdq]
    with av.open(io.BytesIO(clip), mode="r") as container:
        for frame in container.decode(video=0):
            pdq = int(pdq_bits_hex(frame.to_ndarray(format="rgb24"))[0], 16)
            if any((pdq ^ other).bit_count() <= FAR_MIN_BITS for other in known):
                return False
    return True


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()


def write_devices(out: Path, plans: list[DevicePlan]) -> None:
    base_time = datetime(2006, 3, 20, 9, 0, tzinfo=UTC)
    for plan in plans:
        root = out / "devices" / plan.id
        for number, relative in enumerate(sorted(plan.files)):
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(plan.files[relative])
            stamp = (base_time - timedelta(hours=7 * number)).timestamp()
            os.utime(path, (stamp, stamp))


@dataclass(frozen=True)
class HashSets:
    alert: set[str]  # lowercase md5, sha1 and sha256 of alert entries
    ignorable: set[str]
    alert_pdqs: list[str]


def expected_counts(
    root: Path, media_by_sha256: dict[str, MediaFile], sets: HashSets
) -> dict[str, int]:
    """Recount a written device folder the way docs/formats.md's triage counts define it."""
    counts = dict.fromkeys(
        COUNT_KEYS,
        0,
    )
    serials: dict[str, set[str]] = {}

    def visit(name: str, data: bytes) -> None:
        counts["files"] += 1
        counts["bytes"] += len(data)
        digests = {
            hashlib.md5(data).hexdigest(),
            hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
        }
        sha256 = hashlib.sha256(data).hexdigest()
        media = media_by_sha256.get(sha256)
        is_image = data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"
        is_video = data[4:8] == b"ftyp"
        counts["images"] += is_image
        counts["videos"] += is_video
        pdq = media.pdq if media else None
        if is_image and media is None:
            try:
                pdq = pdq_of_bytes(data)[0]
            except (OSError, SyntaxError, ValueError):
                counts["errors"] += 1
        if digests & sets.alert:
            counts["known_alert_files"] += 1
            return
        if pdq and any(distance_bits(pdq, other) <= MATCH_RADIUS_BITS for other in sets.alert_pdqs):
            counts["near_match_files"] += 1
        elif digests & sets.ignorable:
            counts["known_ignorable_files"] += 1
        elif is_image:
            counts["unknown_image_files"] += 1
            if media and media.camera:
                serials.setdefault(media.camera[2], set()).add(sha256)
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        visit(f"{name}/{info.filename}", archive.read(info))

    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        visit(str(path.relative_to(root)), path.read_bytes())
    counts["series"] = sum(1 for shas in serials.values() if len(shas) >= 2)
    return counts
