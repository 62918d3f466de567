"""The operation's media pool, with the PDQ distances that truth relies on verified.

Promises (checked here, regenerated until they hold, and re-checked by the tests):
- each near-duplicate is within NEAR_MAX_BITS of its known original and not byte-identical;
- every unknown and series image is more than FAR_MIN_BITS from every known image;
- unknown non-series images are more than FAR_MIN_BITS from each other and from series images.
The margins are tighter than the matching radius (31) so a decoder that downsamples first
(Pillow draft mode) still lands on the same side.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas

from vigil.synth.media import (
    camera_exif,
    distance_bits,
    encode,
    image_file,
    jitter_scene,
    media_file,
    near_variant,
    pdq_bits_hex,
    random_scene,
    render,
)
from vigil.synth.model import MediaFile, Person, SeriesTruth
from vigil.synth.world import Scale

MATCH_RADIUS_BITS = 31
NEAR_MAX_BITS = 22
FAR_MIN_BITS = 50
CAMERAS = [
    ("Canon", "PowerShot A520"),
    ("Nikon", "COOLPIX L1"),
    ("Sony", "DSC-W50"),
    ("Olympus", "FE-120"),
    ("Kodak", "EasyShare C330"),
    ("Fujifilm", "FinePix A350"),
]


@dataclass
class MediaPool:
    known: list[MediaFile] = field(default_factory=list)
    near: list[MediaFile] = field(default_factory=list)
    unknown: list[MediaFile] = field(default_factory=list)
    series: dict[str, list[MediaFile]] = field(default_factory=dict)
    series_truth: list[SeriesTruth] = field(default_factory=list)
    ignorable: list[MediaFile] = field(default_factory=list)
    special: list[MediaFile] = field(default_factory=list)  # unknown, kept for device quirks

    def circulating(self) -> list[MediaFile]:
        return self.known + self.near + self.unknown

    def by_sha256(self) -> dict[str, MediaFile]:
        every = self.circulating() + self.ignorable + self.special
        every += [m for items in self.series.values() for m in items]
        return {m.sha256: m for m in every}


def _photo_name(rng: random.Random) -> str:
    pattern = rng.choice(
        [
            "IMG_{:04d}.jpg",
            "DSC{:05d}.JPG",
            "pic_{}.jpg",
            "P{:07d}.jpg",
            "image{}.jpeg",
            "{:06d}.jpg",
        ]
    )
    return pattern.format(rng.randint(1, 99999))


class _Far:
    """The known PDQs and the unknown PDQs that new images must stay away from."""

    def __init__(self) -> None:
        self.known: list[int] = []
        self.unknown: list[int] = []

    @staticmethod
    def _clear(pdq: int, others: list[int]) -> bool:
        return all((pdq ^ other).bit_count() > FAR_MIN_BITS for other in others)

    def ok_known(self, pdq: str) -> bool:
        return self._clear(int(pdq, 16), self.known)

    def ok_unknown(self, pdq: str) -> bool:
        value = int(pdq, 16)
        return self._clear(value, self.known) and self._clear(value, self.unknown)


def build_pool(seed: int, scale: Scale, producers: list[Person]) -> MediaPool:
    rng = random.Random(f"{seed}:media")
    nrng = np.random.default_rng(rng.getrandbits(64))
    pool, far = MediaPool(), _Far()
    originals: list[Image.Image] = []
    while len(pool.known) < scale.known_images:
        image = render(random_scene(nrng), nrng)
        item = image_file(
            _photo_name(rng), encode(image, quality=rng.choice([80, 85, 90])), "known"
        )
        if item.pdq and (item.pdq_quality or 0) >= 50 and far.ok_known(item.pdq):
            far.known.append(int(item.pdq, 16))
            pool.known.append(item)
            originals.append(image)
    _near_duplicates(rng, nrng, pool, originals, scale.near_duplicates)
    _series(rng, nrng, pool, far, producers, scale.series_images)
    while len(pool.unknown) < scale.unknown_images + 2:
        item = image_file(_photo_name(rng), encode(render(random_scene(nrng), nrng)), "unknown")
        if item.pdq and far.ok_unknown(item.pdq):
            far.unknown.append(int(item.pdq, 16))
            pool.unknown.append(item)
    pool.special = [pool.unknown.pop(), pool.unknown.pop()]
    pool.ignorable = known_good_files(rng, nrng, far)
    return pool


def _near_duplicates(
    rng: random.Random,
    nrng: np.random.Generator,
    pool: MediaPool,
    originals: list[Image.Image],
    count: int,
) -> None:
    hows = ["resize", "crop", "watermark", "reencode"]
    attempt = 0
    while len(pool.near) < count:
        origin_index = len(pool.near) % len(pool.known)
        original, source = originals[origin_index], pool.known[origin_index]
        how = hows[(len(pool.near) + attempt) % len(hows)]
        attempt += 1
        data = encode(near_variant(original, nrng, how), quality=rng.choice([55, 65, 75]))
        item = image_file(_photo_name(rng), data, "near", origin=source.sha256)
        if (
            item.sha256 != source.sha256
            and item.pdq
            and source.pdq
            and distance_bits(item.pdq, source.pdq) <= NEAR_MAX_BITS
        ):
            pool.near.append(item)


def _series(
    rng: random.Random,
    nrng: np.random.Generator,
    pool: MediaPool,
    far: _Far,
    producers: list[Person],
    per_series: int,
) -> None:
    for number, producer in enumerate(producers, start=1):
        series_id = f"S{number:02d}"
        make, model = CAMERAS[(number - 1) % len(CAMERAS)]
        serial = f"{rng.randint(10**7, 10**8 - 1)}{rng.choice('ABCDEFGH')}"
        producer.camera = (make, model, serial)
        base = random_scene(nrng)
        while not far.ok_unknown(pdq_bits_hex(np.asarray(render(base, nrng)))[0]):
            base = random_scene(nrng)
        items: list[MediaFile] = []
        shot = 0
        while len(items) < per_series:
            shot += 1
            taken = (
                f"2006:{rng.randint(1, 5):02d}:{rng.randint(1, 28):02d} "
                f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:00"
            )
            data = encode(
                render(jitter_scene(base, nrng), nrng),
                quality=90,
                exif=camera_exif(make, model, serial, taken),
            )
            item = image_file(
                f"DSC{shot + 1000 * number:05d}.JPG",
                data,
                "series",
                series_id=series_id,
                camera=(make, model, serial),
            )
            if item.pdq and far.ok_known(item.pdq) and far._clear(int(item.pdq, 16), far.unknown):
                items.append(item)
        far.unknown.extend(int(m.pdq, 16) for m in items if m.pdq)
        pool.series[series_id] = items
        pool.series_truth.append(
            SeriesTruth(series_id, producer.id, serial, [m.sha256 for m in items])
        )


def _icon(nrng: np.random.Generator, side_px: int) -> bytes:
    image = Image.new("RGB", (side_px, side_px), tuple(int(v) for v in nrng.integers(180, 256, 3)))
    draw = ImageDraw.Draw(image)
    colour = tuple(int(v) for v in nrng.integers(0, 120, 3))
    inset = side_px // 5
    if nrng.random() < 0.5:
        draw.ellipse((inset, inset, side_px - inset, side_px - inset), fill=colour)
    else:
        draw.rectangle((inset, inset * 2, side_px - inset, side_px - inset), fill=colour)
    return encode(image, "PNG")


def pdf_document(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer, invariant=1)
    for number, line in enumerate(lines):
        document.drawString(72, 760 - 16 * number, line)
    document.save()
    return buffer.getvalue()


_DOC_LINES = [
    "Thank you for installing this application.",
    "See the user guide for details.",
    "Version history and release notes.",
    "Licensed under the terms in LICENSE.",
]


def known_good_files(rng: random.Random, nrng: np.random.Generator, far: _Far) -> list[MediaFile]:
    """Application icons and documents, the kind of files NSRL lists as known good."""
    files: list[MediaFile] = []
    names = ["app", "setup", "help", "tray", "logo", "folder", "print", "mail"]
    while len([f for f in files if f.is_image]) < 8:
        data = _icon(nrng, rng.choice([32, 48, 64]))
        item = image_file(
            f"{names[len(files) % len(names)]}_{len(files)}.png",
            data,
            "ignorable",
            mime="image/png",
        )
        if item.pdq and far.ok_unknown(item.pdq) and all(item.sha256 != f.sha256 for f in files):
            files.append(item)
    for number in range(4):
        # the part number keeps every document distinct, as separate products' files are
        text = (
            "\n".join(rng.sample(_DOC_LINES, 3)) + f"\nbuild {rng.randint(1000, 9999)}.{number}\n"
        )
        files.append(
            media_file(f"README_{number}.txt", text.encode(), "ignorable", mime="text/plain")
        )
        files.append(
            media_file(
                f"manual_{number}.pdf",
                pdf_document([*rng.sample(_DOC_LINES, 2), f"Part {number + 1}"]),
                "ignorable",
                mime="application/pdf",
            )
        )
    return files
