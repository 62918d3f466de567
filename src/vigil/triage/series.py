"""Grouping unknown images into series, for victim identification.

A new series is a child not yet found, so the examiner needs the images that belong together
and *why* they were put together. Two unknown images are linked when:

- they carry the same camera in EXIF (make, model and body serial number): one camera, one
  producer; or
- their PDQ hashes are within ``max_distance_bits`` (both of usable quality): the same
  picture, or a near copy of it.

Series are the connected groups of at least ``min_images`` images. Each carries its reasons
in words with numbers. The result depends only on the candidates, never on their order, so
a resumed run groups exactly as an uninterrupted one does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vigil.matching.pdq_index import PdqIndex, pdq_to_bytes

DEFAULT_MAX_DISTANCE_BITS = 31
DEFAULT_MIN_QUALITY = 50


@dataclass(frozen=True)
class SeriesCandidate:
    """One unknown image. ``key`` identifies it (e.g. its SHA-256) and orders the output."""

    key: str
    pdq: str | None = None
    pdq_quality: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None

    @property
    def camera(self) -> tuple[str, str, str] | None:
        serial = (self.camera_serial or "").strip()
        if not serial:
            return None
        return ((self.camera_make or "").strip(), (self.camera_model or "").strip(), serial)


@dataclass(frozen=True)
class SeriesGroup:
    keys: tuple[str, ...]  # sorted
    label: str
    camera_serial: str | None
    reasons: tuple[str, ...]


class _Links:
    """Union-find over candidate indexes, keeping why each merge happened."""

    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_series(
    candidates: Iterable[SeriesCandidate],
    *,
    max_distance_bits: int = DEFAULT_MAX_DISTANCE_BITS,
    min_quality: int = DEFAULT_MIN_QUALITY,
    min_images: int = 2,
) -> list[SeriesGroup]:
    unique = {c.key: c for c in candidates}
    items = [unique[key] for key in sorted(unique)]
    links = _Links(len(items))

    cameras: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        if item.camera is not None:
            cameras[item.camera].append(i)
    for members in cameras.values():
        for other in members[1:]:
            links.union(members[0], other)

    pairs = _close_pairs(items, max_distance_bits, min_quality)
    for a, b, _ in pairs:
        links.union(a, b)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(items)):
        groups[links.find(i)].append(i)
    result = []
    for members in groups.values():
        if len(members) < min_images:
            continue
        result.append(_describe(items, members, cameras, pairs, max_distance_bits))
    return sorted(result, key=lambda group: group.keys[0])


def _close_pairs(
    items: list[SeriesCandidate], max_distance_bits: int, min_quality: int
) -> list[tuple[int, int, int]]:
    usable = [
        i
        for i, item in enumerate(items)
        if item.pdq and (item.pdq_quality is None or item.pdq_quality >= min_quality)
    ]
    if len(usable) < 2:
        return []
    codes = pdq_to_bytes([items[i].pdq or "" for i in usable])
    index = PdqIndex().added(codes, np.asarray(usable, dtype=np.int32))
    asked, rows, distances = index.search(codes, max_distance_bits)
    return [
        (a, b, distance)
        for a, b, distance in zip(
            [usable[q] for q in asked.tolist()], rows.tolist(), distances.tolist(), strict=True
        )
        if a < b
    ]


def _describe(
    items: list[SeriesCandidate],
    members: list[int],
    cameras: dict[tuple[str, str, str], list[int]],
    pairs: list[tuple[int, int, int]],
    max_distance_bits: int,
) -> SeriesGroup:
    member_set = set(members)
    reasons: list[str] = []
    shared = sorted(
        (camera, len(indexes))
        for camera, indexes in cameras.items()
        if len(indexes) > 1 and indexes[0] in member_set
    )
    for (make, model, shared_serial), count in shared:
        device = " ".join(part for part in (make, model) if part) or "camera"
        reasons.append(f"{count} images share camera serial {shared_serial} ({device}) in EXIF")
    inside = [distance for a, b, distance in pairs if a in member_set]
    if inside:
        reasons.append(
            f"{len(inside)} image pairs within PDQ distance {max_distance_bits} bits "
            f"(closest {min(inside)} bits, farthest {max(inside)} bits)"
        )
    keys = tuple(items[i].key for i in sorted(members))
    serial: str | None = shared[0][0][2] if len(shared) == 1 else None
    if serial is not None:
        label = f"camera {serial}: {len(keys)} images"
    else:
        label = f"{len(keys)} similar images from {keys[0][:12]}"
    return SeriesGroup(keys=keys, label=label, camera_serial=serial, reasons=tuple(reasons))
