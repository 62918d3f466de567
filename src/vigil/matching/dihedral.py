"""The 8 dihedral PDQs of an image: a mirrored or rotated copy matches one of them.

They must come from the pixels (pdqhash transforms the DCT before thresholding); they cannot
be derived from a finished hash, so the caller that has the image computes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash  # type: ignore[import-untyped]
from PIL import Image, ImageOps


def _bits_to_hex(bits: np.ndarray) -> str:
    """Most significant bit first, as the reference and ``vigil.hashing`` print PDQ."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def dihedral_pdqs(path: Path) -> list[str]:
    """Hex PDQs of the image and its 7 rotations/reflections, in pdqhash's order."""
    with Image.open(path) as image:
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    hashes, _qualities = pdqhash.compute_dihedral(rgb)
    return [_bits_to_hex(bits) for bits in hashes]
