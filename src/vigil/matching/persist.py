"""The matcher on disk: faiss's own index files, numpy arrays, and a small JSON manifest.

Nothing is pickled: ``numpy.load`` runs with ``allow_pickle=False`` and faiss reads its own
format, so a cache file from elsewhere cannot execute code. A directory is written beside the
old one and swapped in, so a reader never sees half of a write.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from vigil.matching.matcher import DIGEST_WIDTHS, Matcher
from vigil.matching.pdq_index import PdqIndex
from vigil.matching.types import HashSetInfo

FORMAT_NAME = "vigil-match-index"
FORMAT_VERSION = 1


class IndexCacheError(Exception):
    """The cache is missing, from another version, or damaged: rebuild it."""


def save_matcher(matcher: Matcher, directory: Path) -> None:
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f"{directory.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    table = matcher.table
    arrays: dict[str, np.ndarray] = {
        "entry_ids": table.entry_ids,
        "set_slots": table.set_slots,
        "category_codes": table.category_codes,
        "video_counts": table.video_counts,
        "alive": table.alive,
        "pdq_rows": matcher.pdq.rows,
        "video_rows": matcher.video.rows,
    }
    for kind, index in matcher.digests.items():
        arrays[f"{kind}_keys"] = index.keys
        arrays[f"{kind}_rows"] = index.rows
    np.savez(staging / "arrays.npz", allow_pickle=False, **arrays)  # type: ignore[arg-type]
    matcher.pdq.write(staging / "pdq.faissindex")
    matcher.video.write(staging / "video.faissindex")
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "nhash": matcher.nhash,
        "sets": [vars(info) for info in matcher.sets.values()],
        "fingerprints": {str(k): v for k, v in matcher.fingerprints.items()},
        "slots": matcher.slots,
        "categories": matcher.categories,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
    retired = directory.with_name(f"{directory.name}.old-{os.getpid()}")
    if directory.exists():
        directory.rename(retired)
    staging.rename(directory)
    shutil.rmtree(retired, ignore_errors=True)


def load_saved_matcher(directory: Path, matcher: Matcher | None = None) -> Matcher:
    """Read a saved matcher into ``matcher`` (for its thresholds) or a new one."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_NAME or manifest.get("version") != FORMAT_VERSION:
            raise IndexCacheError(f"{directory}: not a version {FORMAT_VERSION} index")
        with np.load(directory / "arrays.npz", allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        result = matcher or Matcher(nhash=int(manifest["nhash"]))
        result.nhash = int(manifest["nhash"])
        result.sets = {int(s["id"]): HashSetInfo(**s) for s in manifest["sets"]}
        result.fingerprints = {int(k): v for k, v in manifest["fingerprints"].items()}
        result.slots = [int(s) for s in manifest["slots"]]
        result.categories = list(manifest["categories"])
        result._category_codes = {c: i for i, c in enumerate(result.categories)}
        table = result.table
        table.entry_ids = arrays["entry_ids"]
        table.set_slots = arrays["set_slots"]
        table.category_codes = arrays["category_codes"]
        table.video_counts = arrays["video_counts"]
        table.alive = arrays["alive"].copy()
        for kind in DIGEST_WIDTHS:
            result.digests[kind].keys = arrays[f"{kind}_keys"]
            result.digests[kind].rows = arrays[f"{kind}_rows"]
        result.pdq = PdqIndex.read(directory / "pdq.faissindex", arrays["pdq_rows"], result.nhash)
        result.video = PdqIndex.read(
            directory / "video.faissindex", arrays["video_rows"], result.nhash
        )
    except IndexCacheError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCacheError(f"{directory}: {exc}") from exc
    return result
