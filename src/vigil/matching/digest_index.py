"""Exact digest lookup on sorted fixed-width byte arrays.

A Python dict of millions of hex strings costs gigabytes; a sorted numpy array of raw
digests costs their bytes and answers by binary search, in batches.
"""

from __future__ import annotations

import numpy as np


class DigestIndex:
    """Digests of one kind (MD5, SHA-1 or SHA-256), each pointing at an entry row."""

    def __init__(self, width_bytes: int):
        self.width_bytes = width_bytes
        self.keys = np.empty(0, dtype=f"S{width_bytes}")
        self.rows = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def to_keys(self, hexes: list[str]) -> np.ndarray:
        return np.array([bytes.fromhex(h) for h in hexes], dtype=f"S{self.width_bytes}")

    def add(self, hexes: list[str], rows: np.ndarray) -> None:
        if hexes:
            self.add_keys(self.to_keys(hexes), rows)

    def add_keys(self, new_keys: np.ndarray, rows: np.ndarray) -> None:
        """Merge raw digests in; one sort per call, so callers add a whole set at once."""
        keys = np.concatenate([self.keys, new_keys.astype(self.keys.dtype)])
        all_rows = np.concatenate([self.rows, rows.astype(np.int64)])
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], all_rows[order]

    def lookup(self, hexes: list[str]) -> list[np.ndarray]:
        """For each digest, the rows that carry it (usually none or one)."""
        if not hexes or len(self.keys) == 0:
            return [np.empty(0, dtype=np.int64) for _ in hexes]
        queries = self.to_keys(hexes)
        starts = np.searchsorted(self.keys, queries, side="left")
        ends = np.searchsorted(self.keys, queries, side="right")
        return [self.rows[s:e] for s, e in zip(starts, ends, strict=True)]
