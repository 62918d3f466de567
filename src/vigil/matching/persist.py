"""The matcher on disk: immutable segment files, a manifest per version, and a pointer.

Layout of an index directory::

    CURRENT                  the name of the live manifest, replaced atomically
    manifest-<v>.json        sets, slots, categories and the segments of version <v>
    alive-<v>.npy            the row flags of version <v>; video-frames-<v>.npy likewise
    segments/<name>/*.npy    one immutable segment (PDQ, digest or table chunk)

Why: a saved update writes only the segments that are new (an import of 1% more entries
writes about 1%), and a reader never sees a torn index: it reads ``CURRENT`` once, then only
files that version names, all immutable. Writers hold ``.lock`` while they write and remove
what the new version no longer names; a reader whose version was removed under it starts
over from ``CURRENT``. Segments load memory-mapped, so loading is instant and processes
share the pages. Nothing is pickled: ``numpy.load`` runs with ``allow_pickle=False``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vigil.matching.digest_index import DigestIndex, DigestSegment
from vigil.matching.entry_table import EntryTable, TableChunk
from vigil.matching.matcher import DIGEST_WIDTHS, Matcher, MatcherView
from vigil.matching.pdq_index import PdqIndex, PdqSegment
from vigil.matching.types import HashSetInfo

FORMAT_NAME = "vigil-match-index"
FORMAT_VERSION = 2
READ_ATTEMPTS = 5
_KEEP = {"CURRENT", ".lock", "segments"}


class IndexCacheError(Exception):
    """The cache is missing, from another version, or damaged: rebuild it."""


@contextmanager
def _writer_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, write: Any) -> None:
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    write(staging)
    os.replace(staging, path)


def _save_segment(segments: Path, segment: Any) -> None:
    target = segments / segment.name
    if target.exists():
        return  # immutable: already written by an earlier version
    staging = segments / f".{segment.name}.{uuid.uuid4().hex}"
    segment.save(staging)
    staging.rename(target)


def save_matcher(matcher: Matcher, directory: Path) -> None:
    """Publish the matcher's current view as a new version; readers switch atomically."""
    directory = Path(directory)
    view = matcher.view
    with _writer_lock(directory):
        segments = directory / "segments"
        segments.mkdir(exist_ok=True)
        named: dict[str, Any] = {
            "table": list(view.table.chunks),
            "pdq": list(view.pdq.segments),
            "video": list(view.video.segments),
            **{f"digest-{kind}": list(index.segments) for kind, index in view.digests.items()},
        }
        for parts in named.values():
            for segment in parts:
                _save_segment(segments, segment)
        version = uuid.uuid4().hex
        for stem, values in (("alive", view.table.alive), ("video-frames", view.video_frame_rows)):
            _write_atomically(
                directory / f"{stem}-{version}.npy",
                lambda path, values=values: _save_npy(path, values),
            )
        manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "sets": [vars(info) for info in view.sets.values()],
            "fingerprints": {str(k): v for k, v in view.fingerprints.items()},
            "slots": list(view.slots),
            "categories": list(view.categories),
            "segments": {key: [s.name for s in parts] for key, parts in named.items()},
        }
        manifest_name = f"manifest-{version}.json"
        _write_atomically(
            directory / manifest_name, lambda path: path.write_text(json.dumps(manifest, indent=1))
        )
        _write_atomically(directory / "CURRENT", lambda path: path.write_text(manifest_name))
        _remove_unreferenced(directory, version, manifest["segments"])


def _save_npy(path: Path, values: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, values, allow_pickle=False)


def _remove_unreferenced(directory: Path, version: str, segments: dict[str, list[str]]) -> None:
    """Older versions (and the files of an older cache format) go; readers that held them
    keep their memory maps, and readers about to open them start over from CURRENT."""
    live = {name for names in segments.values() for name in names}
    for path in directory.iterdir():
        if path.name in _KEEP or version in path.name:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for path in (directory / "segments").iterdir():
        if path.name not in live:
            shutil.rmtree(path, ignore_errors=True)


def load_saved_matcher(directory: Path, matcher: Matcher | None = None) -> Matcher:
    """Read the current version into ``matcher`` (for its thresholds) or a new one."""
    directory = Path(directory)
    for _ in range(READ_ATTEMPTS):
        try:
            view = _read_view(directory)
        except FileNotFoundError as exc:
            if not (directory / "CURRENT").exists():
                raise IndexCacheError(f"{directory}: no saved index") from exc
            continue  # a writer published a newer version and removed ours: read that one
        except IndexCacheError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCacheError(f"{directory}: {exc}") from exc
        result = matcher or Matcher()
        result.view = view
        return result
    raise IndexCacheError(f"{directory}: changed under every one of {READ_ATTEMPTS} reads")


def _read_view(directory: Path) -> MatcherView:
    manifest_name = (directory / "CURRENT").read_text().strip()
    manifest = json.loads((directory / manifest_name).read_text())
    if manifest.get("format") != FORMAT_NAME or manifest.get("version") != FORMAT_VERSION:
        raise IndexCacheError(f"{directory}: not a version {FORMAT_VERSION} index")
    version = manifest_name.removeprefix("manifest-").removesuffix(".json")
    names = manifest["segments"]
    segments = directory / "segments"
    alive = np.load(directory / f"alive-{version}.npy", allow_pickle=False)
    frames = np.load(directory / f"video-frames-{version}.npy", allow_pickle=False)
    digests = {
        kind: DigestIndex(
            width, [DigestSegment.load(segments / n) for n in names[f"digest-{kind}"]]
        )
        for kind, width in DIGEST_WIDTHS.items()
    }
    view = replace(
        MatcherView.empty(),
        sets={int(s["id"]): HashSetInfo(**s) for s in manifest["sets"]},
        fingerprints={int(k): v for k, v in manifest["fingerprints"].items()},
        slots=tuple(int(s) for s in manifest["slots"]),
        categories=tuple(manifest["categories"]),
        table=EntryTable([TableChunk.load(segments / n) for n in names["table"]], alive),
        digests=digests,
        pdq=PdqIndex([PdqSegment.load(segments / n) for n in names["pdq"]]),
        video=PdqIndex([PdqSegment.load(segments / n) for n in names["video"]]),
        video_frame_rows=frames,
    )
    if len(view.pdq) and int(max(s.rows.max() for s in view.pdq.segments)) >= len(view.table):
        raise IndexCacheError(f"{directory}: PDQ rows beyond the entry table")
    return view
