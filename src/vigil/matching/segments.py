"""What the segmented indexes share: names for immutable segments and the merge policy.

Every index of the matcher (PDQ, video frames, each digest kind, the entry table) grows by
appending an immutable segment. Merging the newest segment into the one before it while it is
at least half that size keeps the count logarithmic in the number of updates, and an update
only ever copies segments no larger than about twice the addition: adding 1% to a bank of ten
million hashes copies about 1%, never the whole bank, so memory stays flat during updates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


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
