"""MIME type from content, never from the name.

Seized files are renamed to hide what they are (a photo saved as ``notes.txt``), so the type
comes from the bytes. ``puremagic`` knows the signatures; when it knows none, text that
decodes as UTF-8 is ``text/plain`` and anything else ``application/octet-stream``.

puremagic's own lookup compares every one of its ~1,400 header signatures in Python for each
file (about 1 ms, half the hashing time of a small file). ``SignatureIndex`` answers the
same question from the same signature table, indexed once per process by offset and by the
byte found there, so one lookup is a few dozen dictionary probes; its answers are puremagic's
(tests/test_hashing_mime.py compares them signature by signature).
"""

from __future__ import annotations

import mimetypes
from collections import defaultdict
from functools import cache

import puremagic
from puremagic import main as puremagic_main

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
    found = signature_index().mime(head)
    if head.startswith(ZIP_SIGNATURE):
        return _zip_flavour(head)
    if found:
        return _canonical(found)
    return "text/plain" if _looks_like_text(head) else UNKNOWN_MIME


class SignatureIndex:
    """puremagic's signature table, indexed for lookups by offset, then by the byte found
    there, then by length.

    ``mime(data)`` equals ``puremagic.from_string(data, mime=True)`` (empty when puremagic
    knows no signature): the same header, footer and multi-part rows match, and the best is
    chosen by puremagic's rule (longer signatures are more confident; among equals, the
    first in its table order wins).
    """

    def __init__(self) -> None:
        rows = puremagic.magic_header_array
        self.header_bytes = puremagic_main.max_head
        self.footer_bytes = puremagic_main.max_foot
        # (offset, length) -> signature bytes -> positions in the header table
        table: dict[tuple[int, int], dict[bytes, list[int]]] = defaultdict(dict)
        # rows the index below cannot key by a byte at a known offset (none in puremagic 1.x):
        # compared one by one, as puremagic does
        self.unindexed: list[int] = []
        for position, row in enumerate(rows):
            if row.offset < 0 or not row.byte_match:
                self.unindexed.append(position)
                continue
            key = (row.offset, len(row.byte_match))
            table[key].setdefault(row.byte_match, []).append(position)
        self.rows = rows
        # offset -> the byte there -> (end, signatures starting with that byte): a header is
        # asked one question per offset, and only the signatures its bytes could match are
        # compared (a few dozen probes instead of one slice per offset and length)
        by_first: dict[int, dict[int, list[tuple[int, dict[bytes, list[int]]]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for (offset, length), signatures in sorted(table.items()):
            starting: dict[int, dict[bytes, list[int]]] = defaultdict(dict)
            for signature, positions in signatures.items():
                starting[signature[0]][signature] = positions
            for first, subset in starting.items():
                by_first[offset][first].append((offset + length, subset))
        self.by_offset = sorted((offset, dict(firsts)) for offset, firsts in by_first.items())

    def matches(self, data: bytes) -> list[puremagic.PureMagic]:
        """Every matching row, in the order puremagic's own scan would list them."""
        header, footer = data[: self.header_bytes], data[-self.footer_bytes :]
        found: list[int] = []
        size = len(header)
        for start, firsts in self.by_offset:
            if start >= size:
                break
            for end, signatures in firsts.get(header[start], ()):
                if end <= size and (hit := signatures.get(header[start:end])):
                    found.extend(hit)
        for position in self.unindexed:
            row = self.rows[position]
            end = row.offset + len(row.byte_match)
            if end <= size and header[row.offset : end] == row.byte_match:
                found.append(position)
        matches = [self.rows[position] for position in sorted(found)]
        matches += [
            row for row in puremagic.magic_footer_array if _at(footer, row) == row.byte_match
        ]
        parts: dict[puremagic.PureMagic, None] = {}
        for matched in matches:
            for row in puremagic.multi_part_dict.get(matched.byte_match, ()):
                end = row.offset + len(row.byte_match)
                if row.offset < 0:
                    if _at(footer, row) == row.byte_match:
                        parts[row._replace(byte_match=matched.byte_match + row.byte_match)] = None
                elif end <= len(header) and header[row.offset : end] == row.byte_match:
                    parts[row._replace(byte_match=header[matched.offset : end])] = None
        return matches + list(parts)

    def mime(self, data: bytes) -> str:
        matches = self.matches(data)
        if not matches:
            return ""
        # puremagic's confidence: 0.1 per signature byte up to 0.8, then length breaks ties;
        # max() keeps the first of equals, as puremagic's stable sort does.
        best = max(matches, key=_confidence)
        return str(best.mime_type)


def _at(data: bytes, row: puremagic.PureMagic) -> bytes:
    end = row.offset + len(row.byte_match)
    return data[row.offset : end] if end != 0 else data[row.offset :]


def _confidence(row: puremagic.PureMagic) -> tuple[float, int]:
    length = len(row.byte_match)
    return (0.8 if length >= 9 else float(f"0.{length}"), length)


@cache
def signature_index() -> SignatureIndex:
    """Built on first use, once per process (about 10 ms)."""
    return SignatureIndex()


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
