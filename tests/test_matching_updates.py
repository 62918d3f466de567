"""Hash banks that update without rebuilds, and readers that never see a torn bank.

The engine appends an update as a segment of its own and swaps its whole view at once; the
cache on disk publishes each version beside the last. These tests race readers against
writers (threads, no sleeps) and check that every answer is exactly the old bank's or the
new bank's, then run an append through the store as a user would.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tests.actors import admin_actor
from vigil.matching import (
    HashSetInfo,
    IndexCacheError,
    IndexedEntry,
    Matcher,
    MatchQuery,
    load_saved_matcher,
    save_matcher,
)
from vigil.store.db import Store
from vigil.workflows.media.hashsets import ImportResult, import_hash_set
from vigil.workflows.media.matching import forget_cached_matchers, index_directory, load_matcher

BANK = HashSetInfo(1, "bank", "alert")
DELTA = HashSetInfo(2, "delta", "alert")


def pdq_hexes(rng: np.random.Generator, count: int) -> list[str]:
    return [row.tobytes().hex() for row in rng.integers(0, 256, (count, 32), dtype=np.uint8)]


def answers(matcher: Matcher, queries: list[MatchQuery]) -> list[tuple[int, ...]]:
    return [tuple(r.hash_entry_id for r in hits) for hits in matcher.match_many(queries)]


@pytest.fixture
def banks() -> tuple[list[str], list[str], list[MatchQuery]]:
    rng = np.random.default_rng(17)
    old, new = pdq_hexes(rng, 3_000), pdq_hexes(rng, 300)
    queries = [MatchQuery(pdq=h) for h in old[:50] + new[:50]]
    return old, new, queries


def test_queries_during_updates_see_the_old_or_the_new_bank(
    banks: tuple[list[str], list[str], list[MatchQuery]],
) -> None:
    old, new, queries = banks
    matcher = Matcher()
    matcher.add_hash_set(BANK, [IndexedEntry(i, pdq=h) for i, h in enumerate(old)])
    before = answers(matcher, queries)
    matcher.add_entries(BANK.id, [IndexedEntry(10_000 + i, pdq=h) for i, h in enumerate(new)])
    matcher.add_hash_set(DELTA, [IndexedEntry(20_000, md5="a" * 32)])
    after = answers(matcher, queries)
    assert before != after and after[50] == (10_000,)
    old_view = Matcher()
    old_view.add_hash_set(BANK, [IndexedEntry(i, pdq=h) for i, h in enumerate(old)])
    base_view = old_view.view

    seen: list[list[tuple[int, ...]]] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen.append(answers(matcher, queries))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(30):
            # an update in several steps: remove a set, re-add it, append to the bank
            matcher.view = base_view
            matcher.add_entries(
                BANK.id, [IndexedEntry(10_000 + i, pdq=h) for i, h in enumerate(new)]
            )
            matcher.add_hash_set(DELTA, [IndexedEntry(20_000, md5="a" * 32)])
    finally:
        done.set()
        thread.join()
    assert seen and all(result in (before, after) for result in seen)


def test_a_reader_of_the_saved_index_never_loads_a_torn_version(
    banks: tuple[list[str], list[str], list[MatchQuery]], tmp_path: Path
) -> None:
    old, new, queries = banks
    first, second = Matcher(), Matcher()
    first.add_hash_set(BANK, [IndexedEntry(i, pdq=h) for i, h in enumerate(old)])
    second.add_hash_set(BANK, [IndexedEntry(i, pdq=h) for i, h in enumerate(old)])
    second.add_entries(BANK.id, [IndexedEntry(10_000 + i, pdq=h) for i, h in enumerate(new)])
    expected = (answers(first, queries), answers(second, queries))
    directory = tmp_path / "index"
    save_matcher(first, directory)
    loads: list[list[tuple[int, ...]]] = []
    refusals: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                loads.append(answers(load_saved_matcher(directory), queries))
            except IndexCacheError as exc:  # outpaced by the writer on every attempt (the
                refusals.append(str(exc))  # caller then rebuilds from the store)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(40):
            save_matcher(second if round_ % 2 == 0 else first, directory)
    finally:
        done.set()
        thread.join()
    assert loads and all(result in expected for result in loads)
    assert all("changed under every one" in refusal for refusal in refusals)
    # what the last version does not name is gone: no version piles up on disk
    live = (directory / "CURRENT").read_text()
    assert [p.name for p in directory.glob("manifest-*.json")] == [live]


def import_pdq_list(
    store: Store, path: Path, hexes: list[str], append: bool = False
) -> ImportResult:
    path.write_text("".join(f"{h}\n" for h in hexes))
    return import_hash_set(
        store, admin_actor(store), "list", path, name="bank", hash_type="pdq", append=append
    )


def test_appended_entries_match_after_an_update_of_only_their_segment(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_INDEX_DIR", str(tmp_path / "index-cache"))
    forget_cached_matchers()
    rng = np.random.default_rng(29)
    base, delta = pdq_hexes(rng, 2_000), pdq_hexes(rng, 20)
    imported = import_pdq_list(store, tmp_path / "base.txt", base)
    during = load_matcher(store)  # a triage that has loaded the bank and is running
    base_segment = during.pdq.segments[0]
    forget_cached_matchers()  # the import runs in another process: nothing shared in memory

    result = import_pdq_list(store, tmp_path / "delta.txt", delta, append=True)
    assert (result.hash_set_id, result.appended, result.entries) == (
        imported.hash_set_id,
        20,
        2_020,
    )
    updated = load_matcher(store)
    (hit,) = updated.match(pdq=delta[3])
    assert (hit.hash_set_name, hit.distance_bits) == ("bank", 0)
    assert len(updated) == 2_020 and updated.match(pdq=base[5])
    # only the delta was indexed: the base segment is on disk under the same name, unrebuilt
    assert updated.pdq.segments[0].name == base_segment.name
    assert [len(s) for s in updated.pdq.segments] == [2_000, 20]
    directory = index_directory(store.engine.url, store.index_root)
    assert directory is not None and (directory / "segments" / base_segment.name).is_dir()
    # the running triage still answers from the whole old bank
    assert during.match(pdq=delta[3]) == [] and len(during) == 2_000
    assert during.match(pdq=base[5])
    # the same delta again changes nothing
    again = import_pdq_list(store, tmp_path / "delta.txt", delta, append=True)
    assert again.unchanged and again.entries == 2_020
    forget_cached_matchers()
    assert len(load_matcher(store)) == 2_020
