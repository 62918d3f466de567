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
    if head.startswith(ZIP_SIGNATURE):
        return _zip_flavour(head)
    if found:
        return _canonical(found)
    return "text/plain" if _looks_like_text(head) else UNKNOWN_MIME


ZIP_SIGNATURE = b"PK\x03\x04"
_OOXML_PARTS = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


def _zip_flavour(head: bytes) -> str:
    """A zip is only an Office document when its member names say so.

    The signature table calls every zip a .docx; a seized ``backup.zip`` must read as a zip.
    Office files name ``[Content_Types].xml`` and their ``word/``, ``xl/`` or ``ppt/`` parts in
    the first local headers, which fall inside the sampled head.
    """
    if b"[Content_Types].xml" in head:
        for part, mime in _OOXML_PARTS:
            if part in head:
                return mime
    if head[30:38] == b"mimetype":  # OpenDocument: the first member names the type
        declared = head[38:120].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        if declared.startswith("application/vnd.oasis.opendocument"):
            return declared
    return "application/zip"


def is_image_type(mime: str | None) -> bool:
    return bool(mime and mime.startswith("image/"))


def is_video_type(mime: str | None) -> bool:
    return bool(mime and mime.startswith("video/"))


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
