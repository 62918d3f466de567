"""The matching engine: is this file known, exactly or nearly, and in which hash set?

One ``Matcher`` holds every hash set it was given: sorted digest arrays for exact MD5, SHA-1
and SHA-256 lookups, and two PDQ indexes (images, and video frames) that are exact up to the
largest radius of any set. Entries live in a row table; removing or replacing a hash set only
marks its rows dead, and adding one appends, so the index is never rebuilt for a change.
It persists with faiss's own writer and plain numpy arrays (never pickle), see ``persist``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import numpy as np

from vigil.errors import BadInput, UsageError
from vigil.matching.digest_index import DigestIndex
from vigil.matching.pdq_index import DEFAULT_NHASH, PdqIndex, pdq_to_bytes
from vigil.matching.types import (
    HashSetInfo,
    IndexedEntry,
    MatchQuery,
    MatchResult,
    VideoThresholds,
    frame_pdq_and_quality,
)

DIGEST_WIDTHS = {"md5": 16, "sha1": 20, "sha256": 32}
CHUNK = 65_536
_PART_NAMES = ("entry_ids", "codes", "video_counts")
MAX_RADIUS_BITS = 63  # past this the multi-index probe count explodes; no real use needs it
_HEX = re.compile(r"^[0-9a-f]*$")


def _normalise_hex(value: str | None, length: int, what: str) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if len(text) != length or not _HEX.match(text):
        raise BadInput(f"not a {what} hash: {value!r}")
    return text


class _EntryTable:
    """Row-aligned arrays: which entry, which set slot, which category, still alive."""

    def __init__(self) -> None:
        self.entry_ids = np.empty(0, dtype=np.int64)
        self.set_slots = np.empty(0, dtype=np.int32)
        self.category_codes = np.empty(0, dtype=np.int32)
        self.video_counts = np.empty(0, dtype=np.int32)
        self.alive = np.empty(0, dtype=bool)

    def __len__(self) -> int:
        return len(self.entry_ids)

    def extend(self, entry_ids: Any, slot: int, codes: Any, video_counts: Any) -> None:
        n = len(entry_ids)
        self.entry_ids = np.concatenate([self.entry_ids, np.asarray(entry_ids, np.int64)])
        self.set_slots = np.concatenate([self.set_slots, np.full(n, slot, np.int32)])
        self.category_codes = np.concatenate([self.category_codes, np.asarray(codes, np.int32)])
        self.video_counts = np.concatenate([self.video_counts, np.asarray(video_counts, np.int32)])
        self.alive = np.concatenate([self.alive, np.ones(n, dtype=bool)])


class Matcher:
    """Exact and near matching against every hash set it holds. Plain data in and out."""

    def __init__(
        self,
        *,
        video_thresholds: VideoThresholds | None = None,
        nhash: int = DEFAULT_NHASH,
    ):
        self.video_thresholds = video_thresholds or VideoThresholds()
        self.nhash = nhash
        self.sets: dict[int, HashSetInfo] = {}
        self.fingerprints: dict[int, str] = {}
        self.slots: list[int] = []  # slot -> hash set id; a replaced set gets a new slot
        self.categories: list[str] = []
        self._category_codes: dict[str, int] = {}
        self.table = _EntryTable()
        self.digests = {kind: DigestIndex(width) for kind, width in DIGEST_WIDTHS.items()}
        self.pdq = PdqIndex(nhash)
        self.video = PdqIndex(nhash)

    # --- building ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.table.alive.sum())

    @property
    def dead_fraction(self) -> float:
        return 1.0 - len(self) / len(self.table) if len(self.table) else 0.0

    def add_hash_set(
        self,
        info: HashSetInfo,
        entries: Iterable[IndexedEntry],
        *,
        fingerprint: str | None = None,
    ) -> int:
        """Add (or replace) one hash set's entries. Returns how many were added."""
        if not 0 <= info.pdq_radius_bits <= MAX_RADIUS_BITS:
            raise UsageError(f"PDQ radius must be 0..{MAX_RADIUS_BITS} bits")
        if info.id in self.sets:
            self.remove_hash_set(info.id)
        slot = len(self.slots)
        self.slots.append(info.id)
        self.sets[info.id] = info
        if fingerprint is not None:
            self.fingerprints[info.id] = fingerprint
        base = len(self.table)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in _PART_NAMES}
        digest_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            kind: [] for kind in DIGEST_WIDTHS
        }
        entries = iter(entries)
        added = 0
        # Chunks keep the Python objects of at most CHUNK entries alive at a time; what is
        # kept is compact numpy (a few dozen bytes per entry) until the final sort.
        while chunk := list(islice(entries, CHUNK)):
            self._add_chunk(chunk, base + added, parts, digest_parts)
            added += len(chunk)
        if added:
            self.table.extend(
                np.concatenate(parts["entry_ids"]),
                slot,
                np.concatenate(parts["codes"]),
                np.concatenate(parts["video_counts"]),
            )
        for kind, pieces in digest_parts.items():
            if pieces:
                self.digests[kind].add_keys(
                    np.concatenate([k for k, _ in pieces]), np.concatenate([r for _, r in pieces])
                )
        return added

    def _add_chunk(
        self,
        chunk: list[IndexedEntry],
        first_row: int,
        parts: dict[str, list[np.ndarray]],
        digest_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    ) -> None:
        parts["entry_ids"].append(np.fromiter((e.hash_entry_id for e in chunk), np.int64))
        parts["codes"].append(np.array([self._category_code(e.category) for e in chunk], np.int32))
        parts["video_counts"].append(np.array([len(e.video_pdq) for e in chunk], np.int32))
        for kind, width in DIGEST_WIDTHS.items():
            hexes, rows = [], []
            for offset, entry in enumerate(chunk):
                value = _normalise_hex(getattr(entry, kind), 2 * width, kind)
                if value is not None:
                    hexes.append(value)
                    rows.append(first_row + offset)
            if hexes:
                keys = self.digests[kind].to_keys(hexes)
                digest_parts[kind].append((keys, np.asarray(rows, dtype=np.int64)))
        pdqs, pdq_rows, frames, frame_rows = [], [], [], []
        for offset, entry in enumerate(chunk):
            pdq = _normalise_hex(entry.pdq, 64, "PDQ")
            if pdq is not None:
                pdqs.append(pdq)
                pdq_rows.append(first_row + offset)
            for frame in entry.video_pdq:
                frames.append(_normalise_hex(frame, 64, "video frame PDQ") or "")
                frame_rows.append(first_row + offset)
        self.pdq.add(pdq_to_bytes(pdqs), np.asarray(pdq_rows, dtype=np.int64))
        self.video.add(pdq_to_bytes(frames), np.asarray(frame_rows, dtype=np.int64))

    def add_pdq_array(
        self, info: HashSetInfo, entry_ids: np.ndarray, pdq_bytes: np.ndarray
    ) -> None:
        """Bulk path for PDQ-only sets already in array form (benchmarks, big banks)."""
        if info.id in self.sets:
            self.remove_hash_set(info.id)
        slot = len(self.slots)
        self.slots.append(info.id)
        self.sets[info.id] = info
        base = len(self.table)
        n = len(entry_ids)
        self.table.extend(entry_ids, slot, np.full(n, -1), np.zeros(n))
        self.pdq.add(pdq_bytes, np.arange(base, base + n, dtype=np.int64))

    def remove_hash_set(self, hash_set_id: int) -> None:
        """Mark the set's rows dead; they stop matching at once, no rebuild needed."""
        dead_slots = [slot for slot, set_id in enumerate(self.slots) if set_id == hash_set_id]
        if dead_slots:
            self.table.alive[np.isin(self.table.set_slots, dead_slots)] = False
        self.sets.pop(hash_set_id, None)
        self.fingerprints.pop(hash_set_id, None)

    def _category_code(self, category: str | None) -> int:
        if category is None:
            return -1
        code = self._category_codes.get(category)
        if code is None:
            code = self._category_codes[category] = len(self.categories)
            self.categories.append(category)
        return code

    # --- matching ---------------------------------------------------------------------------

    def match(
        self,
        *,
        md5: str | None = None,
        sha1: str | None = None,
        sha256: str | None = None,
        pdq: str | None = None,
        video_frames: Sequence[Any] | None = None,
        pdq_variants: Sequence[str] = (),
    ) -> list[MatchResult]:
        """Every entry this file matches. ``pdq_variants``: its dihedral PDQs, to catch
        mirrored and rotated copies (hashing gives them: ``FileHashes.pdq_dihedral``)."""
        query = MatchQuery(md5, sha1, sha256, pdq, tuple(pdq_variants), video_frames)
        return self.match_many([query])[0]

    def match_many(self, queries: Sequence[MatchQuery]) -> list[list[MatchResult]]:
        """Batched: one binary search per digest kind and one faiss search for all PDQs."""
        found: list[dict[tuple[int, str], MatchResult]] = [{} for _ in queries]
        self._match_digests(queries, found)
        self._match_pdq(queries, found)
        self._match_video(queries, found)
        return [sorted(hits.values(), key=_result_order) for hits in found]

    def _result(self, row: int, kind: str, distance_bits: int | None, **extra: Any) -> MatchResult:
        info = self.sets[self.slots[self.table.set_slots[row]]]
        code = int(self.table.category_codes[row])
        return MatchResult(
            hash_entry_id=int(self.table.entry_ids[row]),
            hash_set_id=info.id,
            hash_set_name=info.name,
            set_kind=info.kind,
            kind=kind,
            distance_bits=distance_bits,
            category=self.categories[code] if code >= 0 else None,
            **extra,
        )

    def _match_digests(
        self, queries: Sequence[MatchQuery], found: list[dict[tuple[int, str], MatchResult]]
    ) -> None:
        for kind, width in DIGEST_WIDTHS.items():
            asked = [
                (i, _normalise_hex(getattr(q, kind), 2 * width, kind))
                for i, q in enumerate(queries)
                if getattr(q, kind)
            ]
            hits = self.digests[kind].lookup([value for _, value in asked if value])
            for (i, _), rows in zip(asked, hits, strict=True):
                for row in rows[self.table.alive[rows]]:
                    key = (int(row), "exact")
                    if key not in found[i]:
                        found[i][key] = self._result(int(row), "exact", None)

    def _live_radius(self) -> int:
        return max((info.pdq_radius_bits for info in self.sets.values()), default=0)

    def _match_pdq(
        self, queries: Sequence[MatchQuery], found: list[dict[tuple[int, str], MatchResult]]
    ) -> None:
        owners: list[int] = []
        hexes: list[str] = []
        for i, query in enumerate(queries):
            for value in (query.pdq, *query.pdq_variants):
                if value:
                    owners.append(i)
                    hexes.append(_normalise_hex(value, 64, "PDQ") or "")
        if not hexes or len(self.pdq) == 0:
            return
        radius_by_slot = np.array(
            [self.sets[s].pdq_radius_bits if s in self.sets else -1 for s in self.slots]
        )
        limits, distances, ids = self.pdq.search(pdq_to_bytes(hexes), self._live_radius())
        rows = self.pdq.rows[ids]
        keep = self.table.alive[rows] & (distances <= radius_by_slot[self.table.set_slots[rows]])
        for q, owner in enumerate(owners):
            lo, hi = limits[q], limits[q + 1]
            for row, distance in zip(
                rows[lo:hi][keep[lo:hi]], distances[lo:hi][keep[lo:hi]], strict=True
            ):
                row, distance = int(row), int(distance)
                if (row, "exact") in found[owner]:
                    continue
                previous = found[owner].get((row, "near"))
                if previous is None or (previous.distance_bits or 0) > distance:
                    found[owner][(row, "near")] = self._result(row, "near", distance)

    def _match_video(
        self, queries: Sequence[MatchQuery], found: list[dict[tuple[int, str], MatchResult]]
    ) -> None:
        limits_cfg = self.video_thresholds
        if len(self.video) == 0:
            return
        for i, query in enumerate(queries):
            if not query.video_frames:
                continue
            frame_hexes = []
            for frame in query.video_frames:
                value, quality = frame_pdq_and_quality(frame)
                if quality is None or quality >= limits_cfg.frame_quality_min:
                    frame_hexes.append(_normalise_hex(value, 64, "video frame PDQ") or "")
            if not frame_hexes:
                continue
            limits, distances, frame_ids = self.video.search(
                pdq_to_bytes(frame_hexes), limits_cfg.frame_distance_bits
            )
            rows = self.video.rows[frame_ids]
            per_row: dict[int, tuple[set[int], set[int], int]] = {}
            for q in range(len(frame_hexes)):
                for k in range(limits[q], limits[q + 1]):
                    row = int(rows[k])
                    if not self.table.alive[row]:
                        continue
                    query_frames, compared_frames, worst = per_row.setdefault(
                        row, (set(), set(), 0)
                    )
                    query_frames.add(q)
                    compared_frames.add(int(frame_ids[k]))
                    per_row[row] = (query_frames, compared_frames, max(worst, int(distances[k])))
            for row, (query_frames, compared_frames, worst) in per_row.items():
                query_pct = 100.0 * len(query_frames) / len(frame_hexes)
                compared_pct = (
                    100.0 * len(compared_frames) / max(1, int(self.table.video_counts[row]))
                )
                if (
                    query_pct >= limits_cfg.query_match_percent
                    and compared_pct >= limits_cfg.compared_match_percent
                ):
                    found[i][(row, "video")] = self._result(
                        row,
                        "video",
                        worst,
                        query_match_percent=round(query_pct, 2),
                        compared_match_percent=round(compared_pct, 2),
                    )


def _result_order(result: MatchResult) -> tuple[int, int, int]:
    rank = {"exact": 0, "near": 1, "video": 2}[result.kind]
    return (rank, result.distance_bits or 0, result.hash_entry_id)
