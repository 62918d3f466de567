"""Synthetic operations generated once per test process and shared by every test that reads them.

Generating even a small operation takes seconds, so tests across areas reuse one copy per
(seed, scale). The folders are read-only by convention: never write into them.

    from tests.synth_cache import synth_operation
    operation = synth_operation(1)            # Path to OUT (truth.json, forum/, irc/, ...)

or, to keep the copy under pytest's own temporary root:

    generate_cached(seed, "small", tmp_path_factory.getbasetemp())
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

from vigil.synth.generate import generate

_CACHE: dict[tuple[int, str], Path] = {}
_ROOT: list[Path] = []


def generate_cached(seed: int, scale: str, tmp_root: Path) -> Path:
    """The operation for (seed, scale), generated under `tmp_root` on first request."""
    key = (seed, scale)
    if key not in _CACHE or not (_CACHE[key] / "truth.json").exists():
        out = Path(tmp_root) / f"synth-{scale}-{seed}"
        generate(out, seed=seed, scale=scale)
        _CACHE[key] = out
    return _CACHE[key]


def synth_operation(seed: int, scale: str = "small") -> Path:
    """Like generate_cached, under a process-wide temporary folder removed at exit."""
    if not _ROOT:
        _ROOT.append(Path(tempfile.mkdtemp(prefix="vigil-synth-")))
        atexit.register(shutil.rmtree, _ROOT[0], True)
    return generate_cached(seed, scale, _ROOT[0])


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed 1 at small scale; import this fixture into a test module to use it."""
    return generate_cached(1, "small", tmp_path_factory.getbasetemp())
