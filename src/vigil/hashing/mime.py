"""MIME type from content, never from the name.

Seized files are renamed to hide what they are (a photo saved as ``notes.txt``), so the type
comes from the bytes. ``puremagic`` knows the signatures; when it knows none, text that
decodes as UTF-8 is ``text/plain`` and anything else ``application/octet-stream``.
"""

from __future__ import annotations

import mimetypes

import puremagic

EMPTY_MIME = "application/x-empty"
UNKNOWN_MIME = "application/octet-stream"

# Names the standard table and the signature table spell differently for one type.
_SAME_TYPE = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "video/x-m4v": "video/mp4",
    "audio/x-wav": "audio/wav",
    "text/xml": "application/xml",
}


def _canonical(mime: str) -> str:
    mime = mime.lower()
    return _SAME_TYPE.get(mime, mime)


def mime_from_content(head: bytes) -> str:
    """The MIME type of a file whose first bytes are ``head`` (a few KB is plenty)."""
    if not head:
        return EMPTY_MIME
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return _canonical(found)
    return "text/plain" if _looks_like_text(head) else UNKNOWN_MIME


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def extension_mismatch(name: str, mime: str | None) -> bool:
    """True when the file name's extension claims a different type than its content.

    No extension, or one nobody knows, claims nothing, so it cannot lie.
    """
    if not mime or mime in (EMPTY_MIME, UNKNOWN_MIME):
        return False
    claimed, _ = mimetypes.guess_type(name, strict=False)
    if claimed is None:
        return False
    if _canonical(claimed) == _canonical(mime):
        return False
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix not in mimetypes.guess_all_extensions(mime, strict=False)
