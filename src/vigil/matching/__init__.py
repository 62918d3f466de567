"""The matching engine (docs/formats.md): exact digests and near PDQ/video against hash sets.

Plain data in and out; the store is read by ``vigil.workflows.media.matching``, which builds a
``Matcher`` from every hash set and keeps it cached on disk.
"""

from vigil.matching.matcher import Matcher
from vigil.matching.persist import IndexCacheError, load_saved_matcher, save_matcher
from vigil.matching.types import (
    DEFAULT_PDQ_RADIUS_BITS,
    HashSetInfo,
    IndexedEntry,
    MatchQuery,
    MatchResult,
    VideoThresholds,
)

__all__ = [
    "DEFAULT_PDQ_RADIUS_BITS",
    "HashSetInfo",
    "IndexCacheError",
    "IndexedEntry",
    "MatchQuery",
    "MatchResult",
    "Matcher",
    "VideoThresholds",
    "load_saved_matcher",
    "save_matcher",
]
