"""The matcher's row table: which entry each row is, in which set slot and category.

Rows are appended in immutable chunks (one per update) and never move, so the indexes can
point at them by int32 row; only the ``alive`` flags change when a set is removed or
replaced, and they change by copy, so a reader holding the old table keeps its view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vigil.matching.segments import load_arrays, new_segment_name, save_arrays

COLUMNS = {
    "entry_ids": np.int64,
    "set_slots": np.int32,
    "category_codes": np.int32,
    "video_counts": np.int32,
}


@dataclass(frozen=True, eq=False)
class TableChunk:
    name: str
    entry_ids: np.ndarray
    set_slots: np.ndarray
    category_codes: np.ndarray
    video_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.entry_ids)

    @classmethod
    def build(cls, entry_ids: Any, slot: int, category_codes: Any, video_counts: Any) -> TableChunk:
        ids = np.asarray(entry_ids, dtype=np.int64)
        return cls(
            new_segment_name(),
            ids,
            np.full(len(ids), slot, dtype=np.int32),
            np.asarray(category_codes, dtype=np.int32),
            np.asarray(video_counts, dtype=np.int32),
        )

    def save(self, directory: Path) -> None:
        save_arrays(directory, self, COLUMNS)

    @classmethod
    def load(cls, directory: Path) -> TableChunk:
        columns = load_arrays(directory, COLUMNS)
        if len({len(values) for values in columns.values()}) != 1:
            raise ValueError(f"{directory}: table columns disagree in length")
        return cls(directory.name, **columns)


class EntryTable:
    """Immutable: ``appended`` and ``with_dead`` return new tables sharing the chunks."""

    def __init__(self, chunks: Sequence[TableChunk] = (), alive: np.ndarray | None = None):
        self.chunks = tuple(chunks)
        sizes = [len(chunk) for chunk in self.chunks]
        self.starts = np.cumsum([0, *sizes])
        total = int(self.starts[-1])
        self.alive = np.ones(total, dtype=bool) if alive is None else alive
        if len(self.alive) != total:
            raise ValueError(f"{total} rows but {len(self.alive)} alive flags")

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def live_count(self) -> int:
        return int(np.count_nonzero(self.alive))

    def appended(self, chunk: TableChunk) -> EntryTable:
        alive = np.concatenate([self.alive, np.ones(len(chunk), dtype=bool)])
        return EntryTable([*self.chunks, chunk], alive)

    def with_dead(self, slots: Sequence[int]) -> EntryTable:
        alive = self.alive.copy()
        for start, chunk in zip(self.starts, self.chunks, strict=False):
            alive[start : start + len(chunk)] &= ~np.isin(chunk.set_slots, slots)
        return EntryTable(self.chunks, alive)

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        """One column at these rows (hits are few: a loop over the few chunks is cheap)."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.empty(len(rows), dtype=COLUMNS[name])
        which = np.searchsorted(self.starts, rows, side="right") - 1
        for c in np.unique(which):
            mask = which == c
            values[mask] = getattr(self.chunks[c], name)[rows[mask] - self.starts[c]]
        return values

    def max_entry_id(self, slot: int) -> int:
        """The largest entry id of a slot's live rows (0 if none): where an append resumes."""
        best = 0
        for start, chunk in zip(self.starts, self.chunks, strict=False):
            mine = (chunk.set_slots == slot) & self.alive[start : start + len(chunk)]
            if mine.any():
                best = max(best, int(chunk.entry_ids[mine].max()))
        return best
