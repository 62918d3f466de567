"""One PDQ per second of video, the way vPDQ samples it.

vPDQ hashes frames and compares videos by the share of frames that match, so a re-encoded or
trimmed copy of a known video is still found. Hashing every frame is wasted work for
triage; one frame per whole second (the first frame at or after each second) is what the
matcher needs and what the reference per-second hashes line up with.

Every decoder failure becomes a ``VideoHashError`` with one readable line; frames hashed
before a failure are kept, so a truncated video still yields what could be read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from vigil.hashing.pdq import pdq_from_rgb

if TYPE_CHECKING:
    import av

SECONDS_PER_HASH = 1.0
# Frames are scaled so their longer side is at most this before hashing: PDQ works on 64x64.
MAX_FRAME_SIDE_PX = 512
# Refuse streams whose frames would exceed this many pixels (a crafted header).
MAX_FRAME_PIXELS = 8192 * 8192
# Half a millisecond of slack so a frame stamped 0.99999 still counts as second 1.
_EPSILON_SECONDS = 5e-4


@dataclass(frozen=True)
class VideoFrame:
    ts: float  # seconds from the start of the stream
    pdq: str
    quality: int


class VideoHashError(Exception):
    """The video could not be (fully) hashed. ``frames`` holds what was hashed before."""

    def __init__(self, message: str, frames: list[VideoFrame]):
        super().__init__(message)
        self.frames = frames


def hash_video(source: bytes | Path | BinaryIO) -> list[VideoFrame]:
    # Imported on the first video: loading FFmpeg's libraries took a quarter of a second of
    # every triage's start-up, and most evidence holds few videos or none.
    import av

    frames: list[VideoFrame] = []
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r")
    except Exception as exc:  # FFmpeg and PyAV raise many types on crafted streams
        raise VideoHashError(f"cannot open video: {_reason(exc)}", frames) from exc
    try:
        if not container.streams.video:
            raise VideoHashError("no video stream", frames)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > MAX_FRAME_PIXELS:
            raise VideoHashError(f"frame size {width}x{height} refused", frames)
        _hash_frames(container, stream, frames)
    except VideoHashError:
        raise
    except Exception as exc:  # FFmpeg and PyAV raise many types on crafted streams
        raise VideoHashError(f"cannot decode video: {_reason(exc)}", frames) from exc
    finally:
        container.close()
    return frames


def _hash_frames(
    container: av.container.InputContainer, stream: av.VideoStream, out: list[VideoFrame]
) -> None:
    start_seconds: float | None = None
    next_second = 0.0
    for frame in container.decode(stream):
        seconds = _frame_seconds(frame)
        if seconds is None:
            continue
        if start_seconds is None:
            start_seconds = seconds
        elapsed = seconds - start_seconds
        if elapsed + _EPSILON_SECONDS < next_second:
            continue
        digest = pdq_from_rgb(_frame_rgb(frame))
        out.append(VideoFrame(ts=round(elapsed, 3), pdq=digest.pdq, quality=digest.quality))
        while next_second <= elapsed + _EPSILON_SECONDS:
            next_second += SECONDS_PER_HASH


def _frame_seconds(frame: av.VideoFrame) -> float | None:
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return frame.time


def _frame_rgb(frame: av.VideoFrame) -> np.ndarray:
    longer = max(frame.width, frame.height)
    if longer > MAX_FRAME_SIDE_PX:
        scale = MAX_FRAME_SIDE_PX / longer
        return frame.to_ndarray(
            format="rgb24",
            width=max(1, round(frame.width * scale)),
            height=max(1, round(frame.height * scale)),
        )
    return frame.to_ndarray(format="rgb24")


def _reason(exc: BaseException) -> str:
    """FFmpeg errors carry a readable ``strerror``; their ``str()`` adds errno noise."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split()) or type(exc).__name__
