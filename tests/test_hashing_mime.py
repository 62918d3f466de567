"""The indexed signature lookup gives puremagic's own answer.

``SignatureIndex`` replaces puremagic's per-file scan of its whole table (see
``vigil.hashing.mime``), so it is checked against puremagic itself on a file built around
every signature in puremagic's table (header, footer and multi-part rows, on three
backgrounds), on random bytes, text and real media. Where puremagic ranks two different
types equal, its own pick depends on the order of a Python set (it changes with
``PYTHONHASHSEED``); there the index must give one of the tied types.
"""

from __future__ import annotations

import io
import random
import zipfile

import numpy as np
import puremagic
import pytest
from PIL import Image

from vigil.hashing.digests import HEAD_BYTES
from vigil.hashing.mime import SignatureIndex, mime_from_content, signature_index

BACKGROUNDS = (b"\x00", b" ", None)  # None: random bytes


def _placed(size: int, background: bytes | None, rng: random.Random) -> bytearray:
    return bytearray(rng.randbytes(size) if background is None else background * size)


def _signature_files() -> list[bytes]:
    rng = random.Random(17)
    files = []
    for row in puremagic.magic_header_array:
        end = row.offset + len(row.byte_match)
        for background in BACKGROUNDS:
            data = _placed(max(end + 64, 700), background, rng)
            data[row.offset : end] = row.byte_match
            files.append(bytes(data))
    for key, parts in puremagic.multi_part_dict.items():
        for part in parts:
            for background in BACKGROUNDS:
                data = _placed(1200, background, rng)
                data[: len(key)] = key
                start = part.offset if part.offset >= 0 else len(data) + part.offset
                data[start : start + len(part.byte_match)] = part.byte_match
                files.append(bytes(data))
    for row in puremagic.magic_footer_array:
        for background in BACKGROUNDS:
            data = _placed(700, background, rng)
            start = len(data) + row.offset
            data[start : start + len(row.byte_match)] = row.byte_match
            files.append(bytes(data))
    return files


def _media_files() -> list[bytes]:
    rng = np.random.default_rng(17)
    pixels = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    files = []
    for kind in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PDF"):
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, kind)
        files.append(out.getvalue())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "all night, check your list")
    files.append(archive.getvalue())
    files += [b"check your DMs\n" * 300, b'{"a": 1}', b"<?xml version='1.0'?><a/>", b"x"]
    generator = random.Random(4)
    files += [generator.randbytes(generator.randint(1, 3 * HEAD_BYTES)) for _ in range(2000)]
    return files


def _tied_best(data: bytes) -> list[puremagic.PureMagic]:
    """The rows puremagic ranks first for ``data`` (more than one on a tie)."""
    try:
        ranked = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        return []
    best = (ranked[0].confidence, len(ranked[0].byte_match))
    return [
        puremagic.PureMagic(*row[:5])
        for row in ranked
        if (row.confidence, len(row.byte_match)) == best
    ]


def _puremagic(data: bytes) -> str:
    try:
        return puremagic.from_string(data, mime=True)
    except (puremagic.PureError, ValueError):
        return ""


TABLE_ROWS = {*puremagic.magic_header_array, *puremagic.magic_footer_array}


@pytest.mark.parametrize("corpus", ["signatures", "media"])
def test_the_index_answers_as_puremagic_does(corpus: str) -> None:
    index = SignatureIndex()
    files = _signature_files() if corpus == "signatures" else _media_files()
    exact = 0
    for data in files:
        tied = _tied_best(data)
        ours = index.mime(data)
        # A table row comes before every multi-part match in puremagic's list, so it wins a
        # tie; only a tie among multi-part matches alone is decided by a set's order.
        if len({row.mime_type for row in tied}) <= 1 or any(row in TABLE_ROWS for row in tied):
            assert ours == _puremagic(data), data[:16]
            exact += 1
        else:  # a tie among multi-part matches: puremagic picks by set order
            assert ours in {row.mime_type for row in tied}, (data[:16], ours, tied)
    # Set-order ties are the exception: nearly every answer is exactly puremagic's.
    assert exact >= 0.99 * len(files)
    if corpus == "signatures":
        assert len(files) >= 3 * len(puremagic.magic_header_array)


def test_real_media_get_their_types_through_the_index() -> None:
    jpeg, png, gif, *_ = _media_files()
    assert mime_from_content(jpeg[:HEAD_BYTES]) == "image/jpeg"
    assert mime_from_content(png[:HEAD_BYTES]) == "image/png"
    assert mime_from_content(gif[:HEAD_BYTES]) == "image/gif"
    assert signature_index() is signature_index()  # built once per process


def test_signatures_the_index_cannot_key_are_still_compared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A header signature counted from the end, which the index cannot key by a byte at an
    offset, is compared as puremagic compares it, by slicing (none is in today's table)."""
    tail = puremagic.PureMagic(b"TAIL", -6, ".tail", "application/x-tail", "tail test")
    monkeypatch.setattr(puremagic, "magic_header_array", [*puremagic.magic_header_array, tail])
    index = SignatureIndex()

    assert tail in index.matches(b"\x01\x02\x03" * 20 + b"TAIL!!")
    assert tail not in index.matches(b"\x01\x02\x03" * 20 + b"TALE!!")
    assert tail not in index.matches(b"")
