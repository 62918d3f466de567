"""Near-duplicate PDQ search that is exact up to its radius, on faiss's multi-index hashing.

Why this index: ``IndexBinaryMultiHash`` cuts the 256-bit hash into ``nhash`` substrings and
keeps one hash table per substring. By the pigeonhole principle, two hashes within ``r`` bits
differ in at most ``r // nhash`` bits in at least one substring, so probing every substring
with up to ``nflip = r // nhash`` flipped bits finds *every* hash within ``r`` (the recall is
100%, the same guarantee brute force gives), while only touching a few thousand candidates
instead of every hash. With 16 substrings of 16 bits, radius 31 needs one flip. This is the
index python-threatexchange's ``PDQIndex`` uses too; we keep faiss's sequential ids plus a
numpy row map (no ``IndexBinaryIDMap2`` and its per-id hash table) to keep memory down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vigil.matching.types import PDQ_BITS

PDQ_BYTES = PDQ_BITS // 8
DEFAULT_NHASH = 16


def pdq_to_bytes(hexes: list[str]) -> np.ndarray:
    """Hex PDQs to an (n, 32) uint8 array, the layout faiss binary indexes take."""
    if not hexes:
        return np.empty((0, PDQ_BYTES), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, PDQ_BYTES)


class PdqIndex:
    """PDQ hashes, each pointing at a row of the caller's entry table."""

    def __init__(self, nhash: int = DEFAULT_NHASH, index: faiss.IndexBinary | None = None):
        self.nhash = nhash
        self.index = index or faiss.IndexBinaryMultiHash(PDQ_BITS, nhash, PDQ_BITS // nhash)
        self.rows = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Append hashes (n, 32 uint8); faiss adds incrementally, nothing is rebuilt."""
        if len(hashes) == 0:
            return
        self.index.add(np.ascontiguousarray(hashes, dtype=np.uint8))
        self.rows = np.concatenate([self.rows, rows.astype(np.int64)])

    def search(
        self, queries: np.ndarray, radius_bits: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every indexed hash within ``radius_bits`` (inclusive) of each query.

        Returns faiss's range-search layout: ``limits`` (n+1), then per-hit ``distances``
        and faiss ``ids`` (map them with ``rows[ids]``); query i's hits are
        ``limits[i]:limits[i+1]``.
        """
        n = len(queries)
        if n == 0 or self.index.ntotal == 0:
            empty = np.empty(0, dtype=np.int64)
            return np.zeros(n + 1, dtype=np.int64), empty.astype(np.int32), empty
        multi_hash: Any = faiss.downcast_IndexBinary(self.index)
        multi_hash.nflip = radius_bits // self.nhash
        limits, distances, ids = self.index.range_search(
            np.ascontiguousarray(queries, dtype=np.uint8), radius_bits + 1
        )
        return limits, distances, ids

    def write(self, path: Path) -> None:
        faiss.write_index_binary(self.index, str(path))

    @classmethod
    def read(cls, path: Path, rows: np.ndarray, nhash: int) -> PdqIndex:
        loaded = cls(nhash, faiss.read_index_binary(str(path)))
        if loaded.index.ntotal != len(rows):
            raise ValueError(f"{path}: {loaded.index.ntotal} hashes but {len(rows)} rows")
        loaded.rows = rows.astype(np.int64)
        return loaded

    @property
    def memory_bytes(self) -> int:
        """The codes plus one id per hash per substring table: an estimate, for reports."""
        return int(self.index.ntotal) * (PDQ_BYTES + 8 * self.nhash + 8)
