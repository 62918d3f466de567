"""What the ingest writer answers for where SQLite's own reference checks are off
(``Store.transaction(writer_checks_references=True)``), and its file lookups."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.actors import admin_actor
from tests.resolve_store import named_source
from vigil.errors import Busy
from vigil.formats.source_records import FileRef
from vigil.matching.types import MatchResult
from vigil.store.bulk import bulk_insert
from vigil.store.db import Actor, Store, references_unchecked
from vigil.store.models import Agency, Case, File, Match, Selector, Sighting, Source
from vigil.workflows.media.matching import match_files
from vigil.workflows.sources import ingest_files
from vigil.workflows.sources.ingest_files import resolve_files
from vigil.workflows.sources.ingest_rows import SourceRows, file_facts
from vigil.workflows.sources.ingest_writer import SelectorCache, SourceWriter

MISSING_ID = 999_999
ANN = ("username", "pixelshare", "ann")


def _dangling_sighting(session: Session) -> dict[str, Any]:
    return {
        "selector_id": MISSING_ID,
        "source_id": session.scalars(select(Source.id)).first(),
        "agency_id": session.scalars(select(Agency.id)).first(),
    }


def _source(session: Session, actor: Actor, name: str) -> tuple[int, int]:
    case_id = session.scalars(select(Case.id)).one()
    return case_id, named_source(session, actor, name, case_id).id


class _RolledBack(Exception):
    pass


def _foreign_keys(session: Session) -> int:
    return int(session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() or 0)


def test_only_the_transaction_that_asks_leaves_references_to_its_writer(store: Store) -> None:
    """On SQLite that one transaction runs unchecked, and the next one on the same pooled
    connection checks again. PostgreSQL checks every transaction."""
    actor = admin_actor(store)
    with store.transaction() as session:
        _source(session, actor, "a.jsonl")
    if store.dialect == "sqlite":
        with pytest.raises(_RolledBack), store.transaction(writer_checks_references=True) as s:
            assert references_unchecked(s) and _foreign_keys(s) == 0
            bulk_insert(s, Sighting, [_dangling_sighting(s)])  # not refused: then undone
            raise _RolledBack
        with pytest.raises(Busy), store.transaction() as session:
            assert not references_unchecked(session) and _foreign_keys(session) == 1
            bulk_insert(session, Sighting, [_dangling_sighting(session)])
    else:
        with pytest.raises(Busy), store.transaction(writer_checks_references=True) as session:
            assert not references_unchecked(session)
            bulk_insert(session, Sighting, [_dangling_sighting(session)])
    with store.reading() as session:
        assert session.scalars(select(Sighting.id)).all() == []


def test_a_remembered_selector_gone_from_the_store_is_looked_up_again(
    sqlite_store: Store,
) -> None:
    """A selector id the ingest's cache kept from an earlier batch is confirmed in the
    transaction that writes it: one no longer in the store is resolved again by its key,
    and no row names the id that is gone (with SQLite's checks off, nothing else would
    notice)."""
    rows = SourceRows(
        selectors={ANN: ("Pixelshare", "ann", "Ann")},
        sightings=[(0, None, None, "context", None)],
        accounts=1,
    )
    cache = SelectorCache()
    cache.ids[ANN] = MISSING_ID  # remembered from an earlier transaction, gone since
    staged = cache.child()
    actor = admin_actor(sqlite_store)
    with sqlite_store.transaction(writer_checks_references=True) as session:
        case_id, source_id = _source(session, actor, "b.jsonl")
        writer = SourceWriter(session, actor, case_id, source_id, staged)
        counts = writer.write(rows)
    with sqlite_store.reading() as session:
        (selector_id,) = session.scalars(select(Selector.id).where(Selector.value == "ann"))
        assert session.scalars(select(Sighting.selector_id)).all() == [selector_id]
        assert session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert counts.selectors_new == 1 and staged.ids[ANN] == selector_id != MISSING_ID


HASHES = {
    "sha256": ["a" * 64, "b" * 64, "c" * 64],
    "md5": ["1" * 32, "2" * 32, "3" * 32],
    "sha1": ["d" * 40, "e" * 40],
}


def _hashes() -> st.SearchStrategy[dict[str, str | None]]:
    return st.fixed_dictionaries(
        {column: st.none() | st.sampled_from(values) for column, values in HASHES.items()}
    ).filter(lambda hashes: any(hashes.values()))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stored=st.lists(_hashes(), max_size=6, unique_by=lambda h: h["sha256"] or id(h)),
    named=st.lists(_hashes(), min_size=1, max_size=6),
)
def test_files_are_resolved_as_if_every_file_in_the_store_were_read(
    store: Store, monkeypatch: pytest.MonkeyPatch, stored: list[dict[str, Any]], named: list[Any]
) -> None:
    """``_files_naming`` reads only the Files that can be one of the refs: what it leaves
    out (a File with another SHA-256 than the ref naming its MD5 or SHA-1) changes no
    choice. The reference reads the whole table."""
    refs = [file_facts(FileRef(**hashes)) for hashes in named]

    def resolved(files_naming: Any) -> tuple[Any, ...]:
        with monkeypatch.context() as patch:
            patch.setattr(ingest_files, "_files_naming", files_naming)
            with Session(store.engine) as session, session.begin():
                for hashes in stored:
                    session.add(File(**hashes))
                session.flush()
                result = resolve_files(session, refs)
                after = session.execute(
                    select(File.id, File.sha256, File.md5, File.sha1).order_by(File.id)
                ).all()
                session.rollback()
        rank = {row[0]: number for number, row in enumerate(after)}  # ids differ run to run
        ids = {key: rank[file_id] for key, file_id in result.ids.items()}
        return ids, result.new, result.conflicts, [(rank[row[0]], *row[1:]) for row in after]

    def every_file(session: Session, _refs: Any) -> list[Any]:
        columns = [getattr(File, name) for name in ingest_files.FILE_COLUMNS]
        return list(session.execute(select(*columns)))

    assert resolved(ingest_files._files_naming) == resolved(every_file)


class _StaleMatcher:
    """A cached matcher that answers with a hash entry gone from the store since."""

    def __len__(self) -> int:
        return 1

    def match_many(self, queries: list[Any]) -> list[list[MatchResult]]:
        stale = MatchResult(MISSING_ID, MISSING_ID, "gone", "known", "md5", None, None)
        return [[stale] for _ in queries]


def test_a_match_to_an_entry_gone_from_the_store_fails_the_step(sqlite_store: Store) -> None:
    """Where the writer answers for its references, a match naming a hash entry that no
    longer exists is refused as SQLite's foreign key would refuse it: nothing is kept, and
    the user is told to run the command again. Checked references refuse it too."""
    actor = admin_actor(sqlite_store)
    with sqlite_store.transaction() as session:
        session.add(File(sha256="f" * 64, md5="1" * 32))
    for unchecked in (True, False):
        with (
            pytest.raises(Busy, match="run the command again"),
            sqlite_store.transaction(writer_checks_references=unchecked) as session,
        ):
            file_ids = list(session.scalars(select(File.id)))
            match_files(session, actor, file_ids, matcher=_StaleMatcher())  # type: ignore[arg-type]
    with sqlite_store.reading() as session:
        assert session.scalars(select(Match.id)).all() == []


def test_a_pooled_connection_goes_back_with_its_checks_on(sqlite_store: Store) -> None:
    with sqlite_store.transaction(writer_checks_references=True) as session:
        assert _foreign_keys(session) == 0
    raw = sqlite_store.engine.raw_connection()
    try:
        assert raw.cursor().execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        raw.close()
