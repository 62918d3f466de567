"""PDQ and its quality for still images, decoded as cheaply as PDQ allows.

PDQ reduces every image to 64x64 luma, so decoding a 12-megapixel JPEG at full size is
wasted work: ``Image.draft`` asks libjpeg for a DCT-scaled decode (1/2 to 1/8 size)
that is still well above 64x64, which keeps the hash within a few bits of the reference
implementation at a fraction of the cost.

The PDQ is computed on the pixels as stored, ignoring the EXIF orientation tag, exactly as
Meta's reference hasher, python-threatexchange and HMA do: a hash Vigil exports must match the
one a partner computes from the same file. One ``pdqhash.compute_dihedral`` pass also gives the
PDQs of the 7 other rotations and mirrors, so matching catches a phone photo stored on its
side (its viewer turns it upright, PDQ does not), a rotated copy or a mirrored one.

A hostile or broken image never crashes or hangs the caller: decompression bombs are refused
from the header before any pixel is decoded, and every decoder failure becomes an
``ImageHashError`` carrying one readable line.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

# The smallest side libjpeg may scale down to. PDQ's own filter goes to 64x64; drafting to
# 256 px moves some reference images 12 bits, 512 px keeps all of them within 8.
DRAFT_MIN_SIDE_PX = 512
# Refuse to decode more pixels than this (Pillow's own default bomb threshold).
MAX_DECODED_PIXELS = 89_478_485
# The decoded-image memory budget of one hashing process (docs/reliability.md): the decode
# itself (at most MAX_DECODED_PIXELS x 4 bytes), then a box reduction to at most this side
# before colour conversion and PDQ's floating-point luma, which would otherwise take several
# times the decoded size again (2.9 GB for a 9000x9000 PNG; about 0.35 GB with it).
REDUCE_ABOVE_SIDE_PX = 2048


class ImageHashError(Exception):
    """The image could not be hashed; ``str()`` says why in one line."""


@dataclass(frozen=True)
class PdqHash:
    pdq: str  # 64 hex characters, most significant bit first, as the reference prints it
    quality: int  # 0-100; below ~50 the hash says little about the picture
    dihedral: tuple[str, ...] = ()
    """The PDQs of the 7 other rotations and mirrors, in pdqhash's order (rotated 90, 180,
    270, flipped left-right, flipped up-down, then the two diagonal flips); empty when only
    the plain hash was asked for."""


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _checked_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1 or rgb.shape[2] != 3:
        raise ImageHashError(f"cannot hash an image of shape {rgb.shape}")
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def pdq_from_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ of an HxWx3 uint8 RGB array; pdqhash weighs it to float luma itself."""
    bits, quality = pdqhash.compute(_checked_rgb(rgb))
    return PdqHash(_hex(bits), int(quality))


def dihedral_from_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ and its 7 rotations and mirrors from one pass (one DCT).

    The 8 hashes are those of ``pdqhash.compute_dihedral``, bit for bit
    (tests/test_hashing_engine.py compares them), derived here from the 16x16 DCT that
    ``pdqhash.compute_float`` returns: a rotation or mirror of the picture only transposes
    the DCT and flips the signs of alternate coefficients (the reference's
    ``dct16OriginalTo*``), and each hash is its coefficients above their own median.
    ``compute_dihedral`` does the same in C++ but then unpacks each of its 8 hashes with a
    256-step Python loop, which costs as much as the hashing itself on a small picture.
    """
    rgb = _checked_rgb(rgb)
    if min(rgb.shape[:2]) < _MIN_HASHABLE_SIDE_PX:  # the reference's all-zero hashes
        hashes, quality = pdqhash.compute_dihedral(rgb)
        first, *others = (_hex(bits) for bits in hashes)
        return PdqHash(first, int(quality), tuple(others))
    flat, quality = pdqhash.compute_float(rgb)  # coefficients, last first (as hash bits)
    coefficients = _DIHEDRAL_SIGNS * np.asarray(flat)[::-1].reshape(16, 16)
    coefficients[_DIHEDRAL_TRANSPOSED] = coefficients[_DIHEDRAL_TRANSPOSED].transpose(0, 2, 1)
    values = coefficients.reshape(8, 256)
    # The reference's median (Torben's) is the lower one: the 128th smallest of 256.
    median = np.partition(values, 127, axis=1)[:, 127:128]
    packed = np.packbits((values > median)[:, ::-1], axis=1)  # bit 255 first, as printed
    first, *others = (row.tobytes().hex() for row in packed)
    return PdqHash(first, int(quality), tuple(others))


def _dihedral_plan() -> tuple[np.ndarray, np.ndarray]:
    """Sign masks and transpose flags of the 8 dihedral DCTs, in pdqhash's order."""
    row = np.arange(16)[:, None] % 2
    col = np.arange(16)[None, :] % 2
    keep = np.ones((16, 16))
    odd_rows = np.where(row == 1, 1.0, -1.0) * keep
    odd_cols = np.where(col == 1, 1.0, -1.0) * keep
    checker = np.where((row + col) % 2 == 1, -1.0, 1.0)
    plan = [
        (keep, False),  # original (the reference names follow)
        (odd_cols, True),  # Rotate90
        (checker, False),  # Rotate180
        (odd_rows, True),  # Rotate270
        (odd_rows, False),  # FlipX
        (odd_cols, False),  # FlipY
        (keep, True),  # FlipPlus1
        (checker, True),  # FlipMinus1
    ]
    return np.stack([signs for signs, _ in plan]), np.array([flag for _, flag in plan])


_DIHEDRAL_SIGNS, _DIHEDRAL_TRANSPOSED = _dihedral_plan()
_MIN_HASHABLE_SIDE_PX = 5


def dihedral_from_image(image: Image.Image) -> PdqHash:
    """PDQ and its dihedral variants of an already decoded Pillow image, as stored.

    Luma is computed in floating point from RGB, as the reference does: rounding it to
    8-bit grey first moves near-flat images by dozens of bits.
    """
    return dihedral_from_rgb(np.asarray(image if image.mode == "RGB" else image.convert("RGB")))


def open_image(source: bytes | Path | BinaryIO) -> Image.Image:
    """Open (headers only) and refuse decompression bombs before decoding anything."""
    try:
        with warnings.catch_warnings():
            # Large but legitimate photos only warn; the decoded size is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Image.DecompressionBombError as exc:
        raise ImageHashError(f"decompression bomb refused: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageHashError("not an image format Pillow can decode") from exc
    except Exception as exc:  # crafted headers raise anything from struct.error to IndexError
        raise ImageHashError(f"cannot read image header: {_reason(exc)}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageHashError(f"image claims an empty size {width}x{height}")
    return image


def pdq_of_opened(image: Image.Image, *, fast: bool = True) -> PdqHash:
    """Decode ``image`` (from ``open_image``) and hash its stored pixels, with the dihedral
    variants.

    ``fast`` drafts JPEGs to a reduced decode; ``fast=False`` is the full decode that the
    naive pipeline (the benchmark's anchor) uses.
    """
    try:
        if fast and image.format == "JPEG":
            image.draft("RGB", (DRAFT_MIN_SIDE_PX, DRAFT_MIN_SIDE_PX))
        width, height = image.size
        if width * height > MAX_DECODED_PIXELS:
            raise ImageHashError(
                f"decompression bomb refused: {width}x{height} pixels would be decoded"
            )
        image.load()
        if fast:
            image = _within_budget(image)
        return dihedral_from_image(image)
    except ImageHashError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageHashError(f"decompression bomb refused: {exc}") from exc
    except Exception as exc:  # a plugin may raise anything on crafted data; never crash
        raise ImageHashError(f"cannot decode image: {_reason(exc)}") from exc


def _within_budget(image: Image.Image) -> Image.Image:
    """Box-reduce a very large decoded image by an integer factor (PDQ works at 64x64)."""
    factor = -(-max(image.size) // REDUCE_ABOVE_SIDE_PX)
    if factor <= 1:
        return image
    return image.reduce(factor)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
