"""The hashing engine: what a file is, by content.

Plain data in and out (no store), so triage, ``vigil hash``, benchmarks and a Spark task all
call the same code. ``hash_file`` and ``hash_stream`` never raise for a bad image or video;
they raise ``BadInput`` only when the bytes cannot be read.
"""

from __future__ import annotations

from vigil.hashing.exif import ExifInfo
from vigil.hashing.files import FileHashes, hash_file, hash_stream
from vigil.hashing.video import VideoFrame

__all__ = ["ExifInfo", "FileHashes", "VideoFrame", "hash_file", "hash_stream"]
