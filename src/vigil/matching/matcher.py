"""The matching engine: is this file known, exactly or nearly, and in which hash set?

One ``Matcher`` holds every hash set it was given: segmented digest arrays for exact MD5,
SHA-1 and SHA-256 lookups, and two PDQ multi-indexes (images, and video frames) that are exact
up to the largest radius of any set. Entries live in a row table; removing or replacing a
hash set only marks its rows dead, and adding a set or entries to a set appends segments, so
the index is never rebuilt for a change.

Readers never see a torn bank: everything a query reads is one immutable ``MatcherView``,
and an update builds the next view beside it and swaps it in with one assignment. A query
running on another thread during an import answers from the old bank or the new one.
It persists as plain numpy arrays and JSON (never pickle), see ``persist``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

import numpy as np

from vigil.errors import UsageError
from vigil.matching.digest_index import DigestIndex
from vigil.matching.entry_table import EntryTable, TableChunk
from vigil.matching.pdq_index import PdqIndex, pdq_to_bytes
from vigil.matching.types import (
    HashSetInfo,
    IndexedEntry,
    MatchQuery,
    MatchResult,
    VideoThresholds,
    normalise_hex,
)
from vigil.matching.video import match_video

DIGEST_WIDTHS = {"md5": 16, "sha1": 20, "sha256": 32}
CHUNK = 65_536
MAX_RADIUS_BITS = 63  # past this the multi-index probe count explodes; no real use needs it

Found = list[dict[tuple[int, str], MatchResult]]


@dataclass(frozen=True)
class MatcherView:
    """One consistent state of the bank; nothing in it is ever modified in place."""

    sets: Mapping[int, HashSetInfo]
    fingerprints: Mapping[int, str]
    slots: tuple[int, ...]  # slot -> hash set id; a replaced set gets a new slot
    categories: tuple[str, ...]
    table: EntryTable
    digests: Mapping[str, DigestIndex]
    pdq: PdqIndex
    video: PdqIndex  # its rows are frame ids
    video_frame_rows: np.ndarray  # frame id -> entry row (int32)

    @classmethod
    def empty(cls) -> MatcherView:
        digests = {kind: DigestIndex(width) for kind, width in DIGEST_WIDTHS.items()}
        no_frames = np.empty(0, dtype=np.int32)
        return cls({}, {}, (), (), EntryTable(), digests, PdqIndex(), PdqIndex(), no_frames)


@dataclass
class _Batch:
    """Entries parsed into arrays, ready to become one segment of each index."""

    entry_ids: list[np.ndarray]
    codes: list[np.ndarray]
    video_counts: list[np.ndarray]
    digests: dict[str, list[tuple[list[str], list[int]]]]
    pdq: list[tuple[list[str], list[int]]]
    video: list[tuple[list[str], list[int]]]


class Matcher:
    """Exact and near matching against every hash set it holds. Plain data in and out."""

    def __init__(self, *, video_thresholds: VideoThresholds | None = None):
        self.video_thresholds = video_thresholds or VideoThresholds()
        self.view = MatcherView.empty()

    # --- what it holds ----------------------------------------------------------------------

    def __len__(self) -> int:
        return self.view.table.live_count

    @property
    def sets(self) -> Mapping[int, HashSetInfo]:
        return self.view.sets

    @property
    def fingerprints(self) -> Mapping[int, str]:
        return self.view.fingerprints

    @property
    def pdq(self) -> PdqIndex:
        return self.view.pdq

    @property
    def dead_fraction(self) -> float:
        table = self.view.table
        return 1.0 - table.live_count / len(table) if len(table) else 0.0

    def max_entry_id(self, hash_set_id: int) -> int:
        """The largest entry id indexed for a set: entries after it are an append's."""
        view = self.view
        slot = max(s for s, set_id in enumerate(view.slots) if set_id == hash_set_id)
        return view.table.max_entry_id(slot)

    # --- updates: each builds the next view and swaps it in ----------------------------------

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
        view = self._without_set(self.view, info.id)
        view = replace(view, slots=(*view.slots, info.id), sets={**view.sets, info.id: info})
        view, added = self._appended(view, len(view.slots) - 1, entries)
        if fingerprint is not None:
            view = replace(view, fingerprints={**view.fingerprints, info.id: fingerprint})
        self.view = view
        return added

    def add_entries(
        self, hash_set_id: int, entries: Iterable[IndexedEntry], *, fingerprint: str | None = None
    ) -> int:
        """Append entries to a set already held: one new segment per index, no rebuild."""
        view = self.view
        if hash_set_id not in view.sets:
            raise UsageError(f"hash set {hash_set_id} is not in the index")
        slot = max(s for s, set_id in enumerate(view.slots) if set_id == hash_set_id)
        view, added = self._appended(view, slot, entries)
        if fingerprint is not None:
            view = replace(view, fingerprints={**view.fingerprints, hash_set_id: fingerprint})
        self.view = view
        return added

    def add_pdq_array(
        self, info: HashSetInfo, entry_ids: np.ndarray, pdq_bytes: np.ndarray
    ) -> None:
        """Bulk path for PDQ-only sets already in array form (benchmarks, big banks)."""
        view = self._without_set(self.view, info.id)
        slot = len(view.slots)
        base = len(view.table)
        n = len(entry_ids)
        self.view = replace(
            view,
            slots=(*view.slots, info.id),
            sets={**view.sets, info.id: info},
            table=view.table.appended(
                TableChunk.build(entry_ids, slot, np.full(n, -1), np.zeros(n))
            ),
            pdq=view.pdq.added(pdq_bytes, np.arange(base, base + n, dtype=np.int32)),
        )

    def remove_hash_set(self, hash_set_id: int) -> None:
        """Mark the set's rows dead; they stop matching at once, no rebuild needed."""
        self.view = self._without_set(self.view, hash_set_id)

    @staticmethod
    def _without_set(view: MatcherView, hash_set_id: int) -> MatcherView:
        if hash_set_id not in view.sets:
            return view
        dead = [slot for slot, set_id in enumerate(view.slots) if set_id == hash_set_id]
        sets = {k: v for k, v in view.sets.items() if k != hash_set_id}
        fingerprints = {k: v for k, v in view.fingerprints.items() if k != hash_set_id}
        return replace(view, sets=sets, fingerprints=fingerprints, table=view.table.with_dead(dead))

    def _appended(
        self, view: MatcherView, slot: int, entries: Iterable[IndexedEntry]
    ) -> tuple[MatcherView, int]:
        categories = list(view.categories)
        codes = {category: i for i, category in enumerate(categories)}
        batch = _Batch([], [], [], {kind: [] for kind in DIGEST_WIDTHS}, [], [])
        base = len(view.table)
        added = 0
        iterator = iter(entries)
        # Chunks keep the Python objects of at most CHUNK entries alive at a time; what is
        # kept is compact numpy (a few dozen bytes per entry) until the segments are built.
        while chunk := list(islice(iterator, CHUNK)):
            _parse_chunk(chunk, base + added, batch, categories, codes)
            added += len(chunk)
        if not added:
            return replace(view, categories=tuple(categories)), 0
        table = view.table.appended(
            TableChunk.build(
                np.concatenate(batch.entry_ids),
                slot,
                np.concatenate(batch.codes),
                np.concatenate(batch.video_counts),
            )
        )
        digests = dict(view.digests)
        for kind, parts in batch.digests.items():
            hexes = [h for part_hexes, _ in parts for h in part_hexes]
            if hexes:
                rows = np.array([r for _, part_rows in parts for r in part_rows], np.int32)
                digests[kind] = digests[kind].added(digests[kind].to_keys(hexes), rows)
        frame_rows = np.array([r for _, part_rows in batch.video for r in part_rows], np.int32)
        first_frame = len(view.video_frame_rows)
        frame_ids = [list(range(first_frame, first_frame + len(frame_rows)))]
        frame_hexes = [h for part_hexes, _ in batch.video for h in part_hexes]
        return (
            replace(
                view,
                categories=tuple(categories),
                table=table,
                digests=digests,
                pdq=_added(view.pdq, batch.pdq),
                video=_added(view.video, [(frame_hexes, frame_ids[0])]),
                video_frame_rows=np.concatenate([view.video_frame_rows, frame_rows]),
            ),
            added,
        )

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
        """Batched: one binary search per digest kind and one multi-index search for all
        PDQs (a file's dihedral variants included), all against one view of the bank."""
        view = self.view
        found: Found = [{} for _ in queries]
        _match_digests(view, queries, found)
        _match_pdq(view, queries, found)
        match_video(view, self.video_thresholds, queries, found, result_for)
        return [sorted(hits.values(), key=_result_order) for hits in found]


def _added(index: PdqIndex, parts: list[tuple[list[str], list[int]]]) -> PdqIndex:
    hexes = [h for part_hexes, _ in parts for h in part_hexes]
    rows = np.array([r for _, part_rows in parts for r in part_rows], dtype=np.int32)
    return index.added(pdq_to_bytes(hexes), rows)


def _parse_chunk(
    chunk: list[IndexedEntry],
    first_row: int,
    batch: _Batch,
    categories: list[str],
    codes: dict[str, int],
) -> None:
    def code(category: str | None) -> int:
        if category is None:
            return -1
        if category not in codes:
            codes[category] = len(categories)
            categories.append(category)
        return codes[category]

    batch.entry_ids.append(np.fromiter((e.hash_entry_id for e in chunk), np.int64))
    batch.codes.append(np.array([code(e.category) for e in chunk], np.int32))
    batch.video_counts.append(np.array([len(e.video_pdq) for e in chunk], np.int32))
    for kind, width in DIGEST_WIDTHS.items():
        hexes, rows = [], []
        for offset, entry in enumerate(chunk):
            value = normalise_hex(getattr(entry, kind), 2 * width, kind)
            if value is not None:
                hexes.append(value)
                rows.append(first_row + offset)
        batch.digests[kind].append((hexes, rows))
    pdqs: tuple[list[str], list[int]] = ([], [])
    frames: tuple[list[str], list[int]] = ([], [])
    for offset, entry in enumerate(chunk):
        pdq = normalise_hex(entry.pdq, 64, "PDQ")
        if pdq is not None:
            pdqs[0].append(pdq)
            pdqs[1].append(first_row + offset)
        for frame in entry.video_pdq:
            frames[0].append(normalise_hex(frame, 64, "video frame PDQ") or "")
            frames[1].append(first_row + offset)
    batch.pdq.append(pdqs)
    batch.video.append(frames)


def result_for(
    view: MatcherView, row: int, kind: str, distance_bits: int | None, **extra: Any
) -> MatchResult:
    table = view.table
    rows = np.array([row])
    info = view.sets[view.slots[int(table.column("set_slots", rows)[0])]]
    code = int(table.column("category_codes", rows)[0])
    return MatchResult(
        hash_entry_id=int(table.column("entry_ids", rows)[0]),
        hash_set_id=info.id,
        hash_set_name=info.name,
        set_kind=info.kind,
        kind=kind,
        distance_bits=distance_bits,
        category=view.categories[code] if code >= 0 else None,
        **extra,
    )


def _match_digests(view: MatcherView, queries: Sequence[MatchQuery], found: Found) -> None:
    for kind, width in DIGEST_WIDTHS.items():
        asked = [
            (i, normalise_hex(getattr(q, kind), 2 * width, kind))
            for i, q in enumerate(queries)
            if getattr(q, kind)
        ]
        if not asked:
            continue
        hits = view.digests[kind].lookup([value for _, value in asked if value])
        for (i, _), rows in zip(asked, hits, strict=True):
            for row in rows[view.table.alive[rows]]:
                key = (int(row), "exact")
                if key not in found[i]:
                    found[i][key] = result_for(view, int(row), "exact", None)


def _match_pdq(view: MatcherView, queries: Sequence[MatchQuery], found: Found) -> None:
    owners: list[int] = []
    hexes: list[str] = []
    for i, query in enumerate(queries):
        for value in (query.pdq, *query.pdq_variants):
            if value:
                owners.append(i)
                hexes.append(normalise_hex(value, 64, "PDQ") or "")
    if not hexes or len(view.pdq) == 0 or not view.sets:
        return
    radius_by_slot = np.array(
        [view.sets[s].pdq_radius_bits if s in view.sets else -1 for s in view.slots]
    )
    radius = max(info.pdq_radius_bits for info in view.sets.values())
    asked, rows, distances = view.pdq.search(pdq_to_bytes(hexes), radius)
    live = view.table.alive[rows]
    asked, rows, distances = asked[live], rows[live], distances[live]
    within = distances <= radius_by_slot[view.table.column("set_slots", rows)]
    for q, row, distance in zip(
        asked[within].tolist(), rows[within].tolist(), distances[within].tolist(), strict=True
    ):
        owner = owners[q]
        if (row, "exact") in found[owner]:
            continue
        previous = found[owner].get((row, "near"))
        if previous is None or (previous.distance_bits or 0) > distance:
            found[owner][(row, "near")] = result_for(view, row, "near", distance)


def _result_order(result: MatchResult) -> tuple[int, int, int]:
    rank = {"exact": 0, "near": 1, "video": 2}[result.kind]
    return (rank, result.distance_bits or 0, result.hash_entry_id)
