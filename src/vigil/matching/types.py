"""Plain data the matching engine takes and returns; nothing here knows about the store."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.errors import BadInput

DEFAULT_PDQ_RADIUS_BITS = 31
PDQ_BITS = 256

SET_KINDS = ("alert", "ignorable")
MATCH_KINDS = ("exact", "near", "video")
_HEX = re.compile(r"^[0-9a-f]*$")


def normalise_hex(value: str | None, length: int, what: str) -> str | None:
    """Lowercase hex of the given length, or ``BadInput`` naming what it should have been."""
    if value is None:
        return None
    text = value.strip().lower()
    if len(text) != length or not _HEX.match(text):
        raise BadInput(f"not a {what} hash: {value!r}")
    return text


@dataclass(frozen=True)
class MatchResult:
    """One hash-set entry a file matched. ``distance_bits`` is None for digest matches.

    For a video match, ``distance_bits`` is the largest frame distance that counted and the
    two shares say how much of the query and of the known video matched (vPDQ scoring).
    """

    hash_entry_id: int
    hash_set_id: int
    hash_set_name: str
    set_kind: str
    kind: str
    distance_bits: int | None
    category: str | None
    query_match_percent: float | None = None
    compared_match_percent: float | None = None


@dataclass(frozen=True)
class HashSetInfo:
    """What the engine needs of a hash set: who it is and how far its near matches reach."""

    id: int
    name: str
    kind: str
    pdq_radius_bits: int = DEFAULT_PDQ_RADIUS_BITS


@dataclass(frozen=True)
class IndexedEntry:
    """One hash-set entry as the index stores it. Hashes are lowercase hex or None."""

    hash_entry_id: int
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    category: str | None = None
    video_pdq: tuple[str, ...] = ()


@dataclass(frozen=True)
class VideoThresholds:
    """vPDQ's defaults: a video matches when 80% of the query's frames find a partner."""

    query_match_percent: float = 80.0
    compared_match_percent: float = 0.0
    frame_quality_min: int = 50
    frame_distance_bits: int = DEFAULT_PDQ_RADIUS_BITS


@dataclass(frozen=True)
class MatchQuery:
    """Everything known about one file. ``pdq_variants`` are its dihedral PDQs, if computed."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_variants: Sequence[str] = ()
    video_frames: Sequence[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def frame_pdq_and_quality(frame: Any) -> tuple[str, int | None]:
    """Video frames arrive as ``VideoFrame`` objects, their JSON form, or bare hex."""
    if isinstance(frame, str):
        return frame, None
    if isinstance(frame, Mapping):
        return str(frame["pdq"]), frame.get("quality")
    return str(frame.pdq), getattr(frame, "quality", None)
