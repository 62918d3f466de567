"""Synthetic operation generator: a benign, invented world with its ground truth.

Every other capability is tested against what this package writes: the input documents of
docs/formats.md and `truth.json`. Everything is
derived from one seed, so the same seed always gives byte-identical files.
"""

from __future__ import annotations

from vigil.synth.generate import SCALES, SynthResult, generate

__all__ = ["SCALES", "SynthResult", "generate"]
