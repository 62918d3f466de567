"""The triage count rules of docs/formats.md ("Triage counts"), on plain data.

One ``FoundFile`` per file found (per instance: the same content found twice counts twice),
so the counts can be recomputed from the store at any time and a resumed run reports exactly
what an uninterrupted one would. The categories that matter are exclusive and ordered:
an exact alert match wins, then a near (PDQ or video) match, then an exact ignorable match;
an image with no match of any kind is unknown, whether or not it could be decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from vigil.hashing.mime import is_image_type, is_video_type

SUMMARY_KEYS = (
    "files",
    "bytes",
    "images",
    "videos",
    "known_alert_files",
    "known_ignorable_files",
    "near_match_files",
    "unknown_image_files",
    "series",
    "errors",
    "seconds",
)


@dataclass(frozen=True)
class FoundFile:
    size_bytes: int
    mime: str | None
    failed: bool  # could not be fully processed
    exact_alert: bool = False
    exact_ignorable: bool = False
    near: bool = False  # a PDQ or video match within a set's radius

    @property
    def is_image(self) -> bool:
        return is_image_type(self.mime)

    @property
    def is_video(self) -> bool:
        return is_video_type(self.mime)

    @property
    def category(self) -> str | None:
        """known_alert | near_match | known_ignorable | unknown_image | None (anything else)."""
        if self.exact_alert:
            return "known_alert"
        if self.near:
            return "near_match"
        if self.exact_ignorable:
            return "known_ignorable"
        if self.is_image:
            return "unknown_image"
        return None


@dataclass(frozen=True)
class TriageSummary:
    files: int
    bytes: int
    images: int
    videos: int
    known_alert_files: int
    known_ignorable_files: int
    near_match_files: int
    unknown_image_files: int
    series: int
    errors: int
    seconds: float

    def as_dict(self) -> dict[str, int | float]:
        """Exactly the contract's keys, in the contract's order."""
        values = asdict(self)
        return {key: values[key] for key in SUMMARY_KEYS}


def summarise(found: Iterable[FoundFile], *, series: int, seconds: float) -> TriageSummary:
    counts = dict.fromkeys(
        ("files", "bytes", "images", "videos", "errors", "known_alert", "near_match",
         "known_ignorable", "unknown_image"),
        0,
    )  # fmt: skip
    for item in found:
        counts["files"] += 1
        counts["bytes"] += item.size_bytes
        counts["images"] += item.is_image
        counts["videos"] += item.is_video
        counts["errors"] += item.failed
        category = item.category
        if category is not None:
            counts[category] += 1
    return TriageSummary(
        files=counts["files"],
        bytes=counts["bytes"],
        images=counts["images"],
        videos=counts["videos"],
        known_alert_files=counts["known_alert"],
        known_ignorable_files=counts["known_ignorable"],
        near_match_files=counts["near_match"],
        unknown_image_files=counts["unknown_image"],
        series=series,
        errors=counts["errors"],
        seconds=round(seconds, 3),
    )
