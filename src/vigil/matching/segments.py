"""What the segmented indexes share: names for immutable segments and the merge policy.

Every index of the matcher (PDQ, video frames, each digest kind, the entry table) grows by
appending an immutable segment. Merging the newest segment into the one before it while it is
at least half that size keeps the count logarithmic in the number of updates, and an update
only ever copies segments no larger than about twice the addition: adding 1% to a bank of ten
million hashes copies about 1%, never the whole bank, so memory stays flat during updates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np


class Sized(Protocol):
    def __len__(self) -> int: ...


SegmentT = TypeVar("SegmentT", bound=Sized)


def new_segment_name() -> str:
    """Unique across processes: two writers never produce the same segment file name."""
    return uuid.uuid4().hex


def merge_geometrically(
    segments: Sequence[SegmentT], merge: Callable[[Sequence[SegmentT]], SegmentT]
) -> list[SegmentT]:
    merged = list(segments)
    while len(merged) >= 2 and 2 * len(merged[-1]) >= len(merged[-2]):
        newest = merged.pop()
        previous = merged.pop()
        merged.append(merge([previous, newest]))
    return merged


def save_arrays(directory: Path, segment: Any, names: Iterable[str]) -> None:
    """One plain ``.npy`` file per array (never a pickle)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        np.save(directory / f"{name}.npy", getattr(segment, name), allow_pickle=False)


def load_arrays(directory: Path, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Memory-mapped read-only: loading costs nothing, and processes share the pages."""
    return {
        name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        for name in names
    }
