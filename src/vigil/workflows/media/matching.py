"""Matching files against every hash set in the store (docs/formats.md).

``load_matcher`` builds a ``Matcher`` from the store's hash sets and caches it on disk:
- a SQLite file database ``/x/vigil.db`` keeps it in ``/x/vigil.db.index/``;
- any other database keeps it in ``$VIGIL_INDEX_DIR/<sha256 of the URL>/``, else
  ``~/.local/share/vigil/index/<sha256 of the URL>/``;
- an in-memory SQLite database keeps it in memory only.
Each hash set carries a fingerprint (id, import time, radius, kind, name, then its entry
count). On load, sets whose fingerprint changed or that were deleted are dropped from the
cached index (rows marked dead) and new or changed sets are appended, so a re-import costs
only that set. A set that only grew (``import --append``) keeps its rows: just the entries
with ids above the last one indexed are read and appended as one more segment, so an update of
1% costs about 1% of a build. When more than half the rows are dead the index is rebuilt once
to reclaim space. Saving publishes a new version of the cache beside the old one (see
``vigil.matching.persist``): a triage that loaded the old bank keeps it, whole, until it ends.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from vigil.errors import Busy
from vigil.matching import (
    HashSetInfo,
    IndexCacheError,
    IndexedEntry,
    Matcher,
    MatchQuery,
    load_saved_matcher,
    save_matcher,
)
from vigil.store import audit
from vigil.store.bulk import select_in
from vigil.store.db import Actor, Store, references_unchecked
from vigil.store.models import File, HashEntry, HashSet, Match
from vigil.workflows.network.refresh import refresh_subjects

ENTRY_BATCH = 20_000
FILE_BATCH = 500
COMPACT_WHEN_DEAD = 0.5

_in_memory: dict[str, Matcher] = {}


def index_directory(url: URL, root: Path | None = None) -> Path | None:
    """Where the index cache of this database lives (None: keep it in memory).

    A SQLite store keeps it beside the database file; a server store under ``root`` (the
    interfaces pass ``VIGIL_INDEX_DIR``), by default ``~/.local/share/vigil/index``."""
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return None
        path = Path(database).expanduser().resolve()
        return path.with_name(path.name + ".index")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return (root or Path.home() / ".local" / "share" / "vigil" / "index") / digest[:32]


def _wanted_sets(session: Session) -> dict[int, tuple[HashSetInfo, str]]:
    wanted = {}
    for row in session.scalars(select(HashSet)):
        info = HashSetInfo(row.id, row.name, row.kind, row.pdq_radius_bits)
        fingerprint = (
            f"{row.id}|{row.imported_at.isoformat()}|"
            f"{row.pdq_radius_bits}|{row.kind}|{row.name}#{row.entry_count}"
        )
        wanted[row.id] = (info, fingerprint)
    return wanted


def _grown_by(indexed: str | None, wanted: str) -> int:
    """How many entries were appended since ``indexed`` (0: not a pure append)."""
    if indexed is None:
        return 0
    old_identity, _, old_count = indexed.rpartition("#")
    identity, _, count = wanted.rpartition("#")
    if old_identity != identity or not old_count.isdigit() or not count.isdigit():
        return 0
    return max(0, int(count) - int(old_count))


def _append_grown(session: Session, matcher: Matcher, set_id: int, fingerprint: str) -> bool:
    """Index the entries appended to a set; False if they do not add up (then re-add it)."""
    grown = _grown_by(matcher.fingerprints.get(set_id), fingerprint)
    if not grown:
        return False
    entries = list(_stream_entries(session, set_id, after_id=matcher.max_entry_id(set_id)))
    if len(entries) != grown:
        return False
    matcher.add_entries(set_id, entries, fingerprint=fingerprint)
    return True


def _stream_entries(
    session: Session, hash_set_id: int, after_id: int = 0
) -> Iterator[IndexedEntry]:
    query = (
        select(
            HashEntry.id,
            HashEntry.md5,
            HashEntry.sha1,
            HashEntry.sha256,
            HashEntry.pdq,
            HashEntry.category,
            HashEntry.extra,
        )
        .where(HashEntry.hash_set_id == hash_set_id, HashEntry.id > after_id)
        .order_by(HashEntry.id)
        .execution_options(yield_per=ENTRY_BATCH)
    )
    for entry_id, md5, sha1, sha256, pdq, category, extra in session.execute(query):
        video = tuple((extra or {}).get("video_pdq") or ())
        yield IndexedEntry(entry_id, md5, sha1, sha256, pdq, category, video)


def matcher_for_session(session: Session) -> Matcher:
    """The store's matcher, brought up to date with its hash sets, cached in memory and on
    disk. Reads through ``session``, so it sees that transaction's own imports."""
    url = session.get_bind().engine.url
    key = url.render_as_string(hide_password=False)
    wanted = _wanted_sets(session)
    fingerprints = {set_id: fp for set_id, (_, fp) in wanted.items()}
    cached = _in_memory.get(key)
    if cached is not None and cached.fingerprints == fingerprints:
        return cached
    directory = index_directory(url, session.info.get("index_root"))
    loaded = cached
    if loaded is None and directory is not None and directory.exists():
        try:
            loaded = load_saved_matcher(directory)
        except IndexCacheError:
            loaded = None  # damaged or from another version: rebuilt below
    # Work on a copy of the view and publish it whole at the end: another thread matching
    # with the cached matcher meanwhile sees the old bank, never half of an update.
    matcher = Matcher()
    changed = loaded is None
    if loaded is not None:
        matcher.view = loaded.view
    for set_id in list(matcher.sets):
        wanted_fingerprint = fingerprints.get(set_id)
        if matcher.fingerprints.get(set_id) == wanted_fingerprint:
            continue
        changed = True
        if wanted_fingerprint is None or not _append_grown(
            session, matcher, set_id, wanted_fingerprint
        ):
            matcher.remove_hash_set(set_id)
    if matcher.dead_fraction > COMPACT_WHEN_DEAD:
        matcher, changed = Matcher(), True
    for set_id, (info, fingerprint) in wanted.items():
        if set_id not in matcher.sets:
            matcher.add_hash_set(info, _stream_entries(session, set_id), fingerprint=fingerprint)
            changed = True
    if changed and directory is not None:
        # The cache only saves time; matching from memory is still correct without it.
        with contextlib.suppress(OSError):
            save_matcher(matcher, directory)
    if cached is None:
        _in_memory[key] = matcher
        return matcher
    cached.view = matcher.view
    return cached


def load_matcher(store: Store) -> Matcher:
    """A matcher over every hash set in the store, from the on-disk cache when it is fresh."""
    store.require_initialised()
    with store.reading() as session:
        return matcher_for_session(session)


def forget_cached_matchers() -> None:
    """Drop the in-process copies (tests use it to prove the disk cache reloads)."""
    _in_memory.clear()


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _confirm_entries(session: Session, rows: list[dict[str, int]]) -> None:
    """Where the store leaves references to the writer (``Store.transaction``), the hash
    entries a cached matcher named are confirmed in the transaction, as SQLite's foreign key
    would: a set re-imported by another thread between the matcher's check and its answer
    fails the step, which the user runs again, instead of storing a match to nothing."""
    named = sorted({row["hash_entry_id"] for row in rows})
    found = select_in(session, HashEntry.__tablename__, ("id",), [], "id", named)
    if len(found) != len(named):
        raise Busy(
            "a hash set changed while files were matched against it; nothing of this step "
            "was kept, run the command again"
        )


def match_files(
    session: Session, actor: Actor, file_ids: list[int], matcher: Matcher | None = None
) -> int:
    """Write a Match row for every hash-set entry each File matches; returns rows written.

    Running it again writes nothing new (rows are unique on file, entry and kind).
    """
    if not file_ids:
        return 0
    matcher = matcher or matcher_for_session(session)
    if len(matcher) == 0:
        return 0  # no hash set holds an entry: nothing can match, so read nothing
    written = 0
    for chunk in _chunks(sorted(set(file_ids)), FILE_BATCH):
        files = session.execute(
            select(
                File.id,
                File.md5,
                File.sha1,
                File.sha256,
                File.pdq,
                File.pdq_dihedral,
                File.video_hash,
            ).where(File.id.in_(chunk))
        ).all()
        # Dihedral: a file matches if any of its 8 rotations and mirrors is within the radius.
        queries = [
            MatchQuery(
                md5=md5,
                sha1=sha1,
                sha256=sha256,
                pdq=pdq,
                pdq_variants=tuple(dihedral or ()),
                video_frames=video,
            )
            for _, md5, sha1, sha256, pdq, dihedral, video in files
        ]
        existing = {
            (file_id, entry_id, kind)
            for file_id, entry_id, kind in session.execute(
                select(Match.file_id, Match.hash_entry_id, Match.kind).where(
                    Match.file_id.in_(chunk)
                )
            )
        }
        rows = []
        for (file_id, *_), results in zip(files, matcher.match_many(queries), strict=True):
            for result in results:
                key = (file_id, result.hash_entry_id, result.kind)
                if key in existing:
                    continue
                existing.add(key)
                rows.append(
                    {
                        "file_id": file_id,
                        "hash_entry_id": result.hash_entry_id,
                        "hash_set_id": result.hash_set_id,
                        "kind": result.kind,
                        "distance_bits": result.distance_bits,
                    }
                )
        if rows:
            if references_unchecked(session):
                _confirm_entries(session, rows)
            session.execute(insert(Match), rows)
            written += len(rows)
    if written:
        audit.append(
            session,
            actor,
            "match.files",
            "file",
            None,
            {"files": len(file_ids), "matches": written},
        )
    return written


def match_stored_files(store: Store, actor: Actor) -> int:
    """Match every file already in the store against every hash set; returns rows written.

    A hash set imported after triage or ingest (a weekly VICS update) must flag the files the
    case already holds. Rows are unique, so matching again writes nothing. When matches
    appear or disappear, subjects' priorities follow (``refresh_subjects``).
    """
    with store.transaction() as session:
        file_ids = list(session.scalars(select(File.id).order_by(File.id)))
        if not file_ids:
            return 0  # nothing to match: the index is not even built
        written = match_files(session, actor, file_ids)
        refresh_subjects(session, actor)
    return written
