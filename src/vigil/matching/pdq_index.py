"""Near-duplicate PDQ search, exact up to its radius: a multi-index over 16-bit substrings.

Why this index: cut each 256-bit hash into 16 substrings of 16 bits. By the pigeonhole
principle, two hashes within ``r`` bits differ in at most ``r // 16`` bits in at least one
substring, so probing every substring's table with up to ``r // 16`` flipped bits finds *every*
hash within ``r``: recall is 100%, the guarantee brute force gives, while a query touches
about ``16 * 17 * n / 65536`` candidates (4,000 at a million hashes, radius 31) instead of n.
This is the scheme of faiss's ``IndexBinaryMultiHash`` (which python-threatexchange's
``PDQIndex`` uses); here the tables are flat numpy arrays (int32 positions sorted by substring
value, plus one offset table per substring) instead of a hash map of int64 vectors, so a hash
costs about 100 bytes resident instead of about 280, and a batch of queries is answered with a
handful of vectorised numpy operations (gather the candidates, XOR, popcount) with no Python
loop per query or per candidate. ``benchmarks/bench_pdq_match.py`` measures it against both.

Updates never rebuild: hashes are added as a new immutable segment (built in time and memory
proportional to the addition), and small segments merge with each other geometrically, so the
index holds O(log n) segments and an update copies only segments no larger than itself.
A ``PdqIndex`` is itself immutable: ``added`` returns a new index that shares the old
segments, so a reader holding the old one is never disturbed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.matching.segments import (
    load_arrays,
    merge_geometrically,
    new_segment_name,
    save_arrays,
)
from vigil.matching.types import PDQ_BITS

PDQ_BYTES = PDQ_BITS // 8
SUBSTRINGS = 16
SUBSTRING_BITS = PDQ_BITS // SUBSTRINGS
BUCKETS = 1 << SUBSTRING_BITS
MAX_FLIPS = 3  # radius up to 63 bits; 31 (the default) needs one flip per substring
# Candidates verified per step: small enough that the temporaries stay in cache and are
# reused by the allocator (large fresh arrays cost a page fault per 4 KiB), large enough
# that numpy's per-call overhead is amortised.
CANDIDATES_PER_STEP = 1 << 15
# Queries probed together: their bucket keys (16 x 17 per query at radius 31) and the
# temporaries derived from them stay in cache. Probing 50,000 queries at once (triage's
# series grouping asks every unknown image of a device) was three times slower.
QUERIES_PER_BLOCK = 1024
_ALL_VALUES = np.arange(BUCKETS, dtype=np.uint16)
# every 16-bit mask with at most MAX_FLIPS bits set, by number of bits: a prefix serves `flips`
_FLIP_MASKS = _ALL_VALUES[np.argsort(np.bitwise_count(_ALL_VALUES), kind="stable")][
    : sum(len(_ALL_VALUES[np.bitwise_count(_ALL_VALUES) == k]) for k in range(MAX_FLIPS + 1))
]
_SEGMENT_FILES = ("codes", "rows", "positions", "offsets")


def pdq_to_bytes(hexes: Sequence[str]) -> np.ndarray:
    """Hex PDQs to an (n, 32) uint8 array, most significant byte first."""
    if not hexes:
        return np.empty((0, PDQ_BYTES), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, PDQ_BYTES)


def _substrings(codes: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 to (n, 16) uint16; any fixed cut works, as long as both sides agree."""
    return np.ascontiguousarray(codes, dtype=np.uint8).view(np.uint16)


def _popcount_distances(codes: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Hamming distances of row-aligned (m, 4) uint64 arrays, as int32."""
    xor = np.bitwise_xor(codes, queries, out=codes)
    counts = np.bitwise_count(xor)
    return counts[:, 0].astype(np.int32) + counts[:, 1] + counts[:, 2] + counts[:, 3]


@dataclass(frozen=True, eq=False)
class PdqSegment:
    """An immutable block of hashes and its 16 substring tables.

    ``positions[s * n + k]`` lists the segment positions sorted by substring ``s``;
    ``offsets[s, v]`` is where substring value ``v`` starts in that list (already shifted by
    ``s * n``), so a bucket is one slice of ``positions``. ``rows`` maps each position to the
    caller's row (int32).
    """

    name: str
    codes: np.ndarray  # (n, 4) uint64: the hashes
    rows: np.ndarray  # (n,) int32
    positions: np.ndarray  # (16 * n,) int32
    offsets: np.ndarray  # (16, 65537) int64

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def build(cls, codes: np.ndarray, rows: np.ndarray) -> PdqSegment:
        # a copy: the index must not change if the caller reuses its array
        codes = np.array(codes, dtype=np.uint8, order="C", copy=True).reshape(-1, PDQ_BYTES)
        n = len(codes)
        if n >= 2**31 // SUBSTRINGS:
            raise ValueError(f"a segment holds fewer than {2**31 // SUBSTRINGS:,} hashes")
        substrings = _substrings(codes)
        positions = np.empty(SUBSTRINGS * n, dtype=np.int32)
        offsets = np.empty((SUBSTRINGS, BUCKETS + 1), dtype=np.int64)
        for s in range(SUBSTRINGS):
            column = substrings[:, s]
            # numpy's stable sort of 16-bit keys is a radix sort: linear in n
            positions[s * n : (s + 1) * n] = np.argsort(column, kind="stable")
            offsets[s, 0] = s * n
            np.cumsum(np.bincount(column, minlength=BUCKETS), out=offsets[s, 1:])
            offsets[s, 1:] += s * n
        rows = np.asarray(rows, dtype=np.int32)
        return cls(new_segment_name(), codes.view(np.uint64), rows, positions, offsets)

    @classmethod
    def merged(cls, parts: Sequence[PdqSegment]) -> PdqSegment:
        codes = np.concatenate([p.codes for p in parts]).view(np.uint8)
        return cls.build(codes, np.concatenate([p.rows for p in parts]))

    def search(
        self, queries: np.ndarray, probes: np.ndarray, radius_bits: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hits of (m, 4) uint64 ``queries`` whose bucket keys are ``probes`` (m, 16, k):
        (query index, row, distance) arrays, one entry per distinct hit."""
        n = len(self)
        empty = np.empty(0, dtype=np.int32)
        if n == 0 or len(queries) == 0:
            return empty, empty, empty
        flat = self.offsets.reshape(-1)
        keys = probes.astype(np.int64) + (np.arange(SUBSTRINGS) * (BUCKETS + 1))[None, :, None]
        starts = flat[keys].reshape(len(queries), -1)
        lengths = flat[keys + 1].reshape(len(queries), -1) - starts
        per_query = lengths.sum(axis=1)
        owners_out, rows_out, distances_out = [], [], []
        for first, last in _steps(per_query):
            owner, index = _expand(starts[first:last], lengths[first:last], per_query[first:last])
            owner += first
            position = self.positions[index]
            # np.take and np.repeat copy rows several times faster than fancy indexing
            distances = _popcount_distances(
                np.take(self.codes, position, axis=0),
                np.repeat(queries[first:last], per_query[first:last], axis=0),
            )
            near = distances <= radius_bits
            owner, position, distances = owner[near], position[near], distances[near]
            # a close hash sits in several substrings' buckets: keep each (query, hash) once
            unique = np.unique(owner.astype(np.int64) * n + position, return_index=True)[1]
            owners_out.append(owner[unique])
            rows_out.append(self.rows[position[unique]])
            distances_out.append(distances[unique])
        return (
            np.concatenate(owners_out).astype(np.int32),
            np.concatenate(rows_out),
            np.concatenate(distances_out),
        )

    def save(self, directory: Path) -> None:
        save_arrays(directory, self, _SEGMENT_FILES)

    @classmethod
    def load(cls, directory: Path) -> PdqSegment:
        segment = cls(directory.name, **load_arrays(directory, _SEGMENT_FILES))
        n = len(segment.rows)
        if (
            segment.codes.shape != (n, 4)
            or segment.positions.shape != (SUBSTRINGS * n,)
            or segment.offsets.shape != (SUBSTRINGS, BUCKETS + 1)
        ):
            raise ValueError(f"{directory}: segment arrays disagree in shape")
        return segment


def _steps(per_query: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive query ranges of at most CANDIDATES_PER_STEP candidates (at least one query)."""
    total = np.cumsum(per_query)
    first = 0
    while first < len(per_query):
        base = total[first - 1] if first else 0
        last = int(np.searchsorted(total, base + CANDIDATES_PER_STEP, side="right"))
        last = max(last, first + 1)
        yield first, last
        first = last


def _expand(
    starts: np.ndarray, lengths: np.ndarray, per_query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the slices ``positions[start:start+length]`` without a Python loop:
    returns each candidate's query and its index into ``positions``."""
    starts, lengths = starts.reshape(-1), lengths.reshape(-1)
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    index = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
    owner = np.repeat(np.arange(len(per_query), dtype=np.int32), per_query)
    return owner, index


class PdqIndex:
    """PDQ hashes in immutable segments, each hash pointing at a row of the caller's table."""

    def __init__(self, segments: Sequence[PdqSegment] = ()):
        self.segments: tuple[PdqSegment, ...] = tuple(segments)

    def __len__(self) -> int:
        return sum(len(segment) for segment in self.segments)

    def added(self, hashes: np.ndarray, rows: np.ndarray) -> PdqIndex:
        """A new index with these hashes (n, 32 uint8) appended as one more segment; the old
        index is unchanged (see ``vigil.matching.segments`` for the merge policy)."""
        if len(hashes) == 0:
            return self
        segment = PdqSegment.build(hashes, rows)
        return PdqIndex(merge_geometrically([*self.segments, segment], PdqSegment.merged))

    def search(
        self, queries: np.ndarray, radius_bits: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every indexed hash within ``radius_bits`` (inclusive) of each (n, 32 uint8) query:
        parallel arrays (query index, row, distance), ordered by query."""
        if not 0 <= radius_bits < (MAX_FLIPS + 1) * SUBSTRINGS:
            raise ValueError(f"radius must be 0..{(MAX_FLIPS + 1) * SUBSTRINGS - 1} bits")
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, PDQ_BYTES)
        flips = radius_bits // SUBSTRINGS
        masks = _FLIP_MASKS[np.bitwise_count(_FLIP_MASKS) <= flips]
        parts = []
        for first in range(0, len(queries), QUERIES_PER_BLOCK):
            block = queries[first : first + QUERIES_PER_BLOCK]
            probes = _substrings(block)[:, :, None] ^ masks[None, None, :]
            words = block.view(np.uint64)
            for segment in self.segments:
                owners, rows, distances = segment.search(words, probes, radius_bits)
                parts.append((owners + first, rows, distances))
        if not parts:
            empty = np.empty(0, dtype=np.int32)
            return empty, empty, empty
        owners, rows, distances = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(owners, kind="stable")
        return owners[order], rows[order], distances[order]

    @property
    def memory_bytes(self) -> int:
        return sum(
            s.codes.nbytes + s.rows.nbytes + s.positions.nbytes + s.offsets.nbytes
            for s in self.segments
        )
