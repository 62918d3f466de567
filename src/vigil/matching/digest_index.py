"""Exact digest lookup on sorted fixed-width byte arrays, in immutable segments.

A Python dict of millions of hex strings costs gigabytes; a sorted numpy array of raw
digests costs their bytes and answers by binary search, in batches. New digests arrive as a
new sorted segment (merged geometrically with the small ones before it, as the PDQ index
does), so an update sorts only what it adds; ``added`` returns a new index and leaves the old
one untouched for whoever is still reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.matching.segments import (
    load_arrays,
    merge_geometrically,
    new_segment_name,
    save_arrays,
)


@dataclass(frozen=True, eq=False)
class DigestSegment:
    name: str
    keys: np.ndarray  # sorted raw digests, dtype S<width>
    rows: np.ndarray  # int32, aligned with keys

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, keys: np.ndarray, rows: np.ndarray) -> DigestSegment:
        order = np.argsort(keys, kind="stable")
        return cls(new_segment_name(), keys[order], np.asarray(rows, dtype=np.int32)[order])

    @classmethod
    def merged(cls, parts: Sequence[DigestSegment]) -> DigestSegment:
        return cls.build(
            np.concatenate([p.keys for p in parts]), np.concatenate([p.rows for p in parts])
        )

    def save(self, directory: Path) -> None:
        save_arrays(directory, self, ("keys", "rows"))

    @classmethod
    def load(cls, directory: Path) -> DigestSegment:
        arrays = load_arrays(directory, ("keys", "rows"))
        if arrays["keys"].shape != arrays["rows"].shape:
            raise ValueError(f"{directory}: keys and rows disagree in length")
        return cls(directory.name, **arrays)


class DigestIndex:
    """Digests of one kind (MD5, SHA-1 or SHA-256), each pointing at an entry row."""

    def __init__(self, width_bytes: int, segments: Sequence[DigestSegment] = ()):
        self.width_bytes = width_bytes
        self.segments: tuple[DigestSegment, ...] = tuple(segments)

    def __len__(self) -> int:
        return sum(len(segment) for segment in self.segments)

    def to_keys(self, hexes: list[str]) -> np.ndarray:
        return np.array([bytes.fromhex(h) for h in hexes], dtype=f"S{self.width_bytes}")

    def added(self, keys: np.ndarray, rows: np.ndarray) -> DigestIndex:
        """A new index with these raw digests as one more segment."""
        if len(keys) == 0:
            return self
        segment = DigestSegment.build(keys.astype(f"S{self.width_bytes}"), rows)
        merged = merge_geometrically([*self.segments, segment], DigestSegment.merged)
        return DigestIndex(self.width_bytes, merged)

    def lookup(self, hexes: list[str]) -> list[np.ndarray]:
        """For each digest, the rows that carry it (usually none or one)."""
        if not hexes or not self.segments:
            return [np.empty(0, dtype=np.int32) for _ in hexes]
        queries = self.to_keys(hexes)
        found: list[list[np.ndarray]] = [[] for _ in hexes]
        for segment in self.segments:
            starts = np.searchsorted(segment.keys, queries, side="left")
            ends = np.searchsorted(segment.keys, queries, side="right")
            for i in np.flatnonzero(ends > starts):
                found[i].append(segment.rows[starts[i] : ends[i]])
        return [np.concatenate(parts) if parts else np.empty(0, dtype=np.int32) for parts in found]
