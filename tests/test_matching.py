"""The matching engine alone: plain data in and out, no database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vigil.hashing import hash_file
from vigil.matching import (
    HashSetInfo,
    IndexedEntry,
    Matcher,
    MatchQuery,
    VideoThresholds,
    load_saved_matcher,
    pdq_index,
    save_matcher,
)
from vigil.matching.pdq_index import PdqIndex

ALERT = HashSetInfo(1, "known-alert", "alert")
GOOD = HashSetInfo(2, "known-good", "ignorable", pdq_radius_bits=10)


def random_pdqs(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 256, size=(count, 32), dtype=np.uint8)


def flip_bits(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(code.copy())
    positions = rng.choice(256, size=bits, replace=False)
    unpacked[positions] ^= 1
    return np.packbits(unpacked)


def hexes(codes: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in codes]


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.fixture
def matcher() -> Matcher:
    built = Matcher()
    built.add_hash_set(
        ALERT,
        [
            IndexedEntry(10, md5="a" * 32, category="1"),
            IndexedEntry(11, sha1="B" * 40, category="2"),
            IndexedEntry(12, sha256="c" * 64),
            IndexedEntry(13, pdq="f" * 64, category="1"),
        ],
    )
    built.add_hash_set(GOOD, [IndexedEntry(20, md5="d" * 32, pdq="0" * 64)])
    return built


def test_exact_hits_on_each_digest(matcher: Matcher) -> None:
    (md5_hit,) = matcher.match(md5="A" * 32)
    assert (md5_hit.hash_entry_id, md5_hit.kind, md5_hit.distance_bits) == (10, "exact", None)
    assert (md5_hit.hash_set_name, md5_hit.set_kind, md5_hit.category) == (
        "known-alert",
        "alert",
        "1",
    )
    assert [r.hash_entry_id for r in matcher.match(sha1="b" * 40)] == [11]
    assert [r.hash_entry_id for r in matcher.match(sha256="c" * 64)] == [12]
    (good,) = matcher.match(md5="d" * 32)
    assert (good.hash_set_id, good.set_kind) == (2, "ignorable")
    assert matcher.match(md5="e" * 32, sha1="e" * 40, sha256="e" * 64) == []


def test_pdq_near_match_up_to_the_radius_and_not_beyond(matcher: Matcher) -> None:
    rng = np.random.default_rng(5)
    known = np.frombuffer(bytes.fromhex("f" * 64), dtype=np.uint8)
    at_radius = flip_bits(known, 31, rng).tobytes().hex()
    (hit,) = matcher.match(pdq=at_radius)
    assert (hit.hash_entry_id, hit.kind, hit.distance_bits) == (13, "near", 31)
    assert matcher.match(pdq=flip_bits(known, 32, rng).tobytes().hex()) == []
    # the known-good set has its own radius of 10 bits
    zero = np.zeros(32, dtype=np.uint8)
    assert [r.distance_bits for r in matcher.match(pdq=flip_bits(zero, 10, rng).tobytes().hex())]
    assert matcher.match(pdq=flip_bits(zero, 11, rng).tobytes().hex()) == []


def test_digest_and_pdq_of_one_entry_give_one_exact_result(matcher: Matcher) -> None:
    results = matcher.match(md5="d" * 32, pdq="0" * 64)
    assert [(r.hash_entry_id, r.kind) for r in results] == [(20, "exact")]


def test_recall_is_total_against_brute_force() -> None:
    """Random and planted queries: the index returns exactly what brute force returns."""
    rng = np.random.default_rng(42)
    indexed = random_pdqs(rng, 20_000)
    # plant clusters so that some queries have several neighbours at assorted distances
    for start in range(0, 200, 4):
        for offset in range(1, 4):
            indexed[start + offset] = flip_bits(indexed[start], int(rng.integers(0, 31)), rng)
    matcher = Matcher()
    matcher.add_pdq_array(ALERT, np.arange(len(indexed), dtype=np.int64), indexed)
    planted = np.stack(
        [flip_bits(indexed[i], int(rng.integers(0, 32)), rng) for i in range(0, 400, 2)]
    )
    queries = np.concatenate([planted, random_pdqs(rng, 200)])
    answers = matcher.match_many([MatchQuery(pdq=h) for h in hexes(queries)])
    indexed_words = indexed.view(np.uint64)
    brute = np.stack(
        [np.bitwise_count(indexed_words ^ q).sum(axis=1) for q in queries.view(np.uint64)]
    )
    for q, results in enumerate(answers):
        expected = {(int(i), int(brute[q, i])) for i in np.flatnonzero(brute[q] <= 31)}
        assert {(r.hash_entry_id, r.distance_bits) for r in results} == expected
    assert sum(len(r) for r in answers[:200]) >= 200  # every planted query found its origin


def test_queries_across_blocks_and_segments_answer_as_brute_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch is probed a block of queries at a time: every block's answers keep their own
    query numbers, over an index of several segments."""
    monkeypatch.setattr(pdq_index, "QUERIES_PER_BLOCK", 64)
    rng = np.random.default_rng(7)
    first, second = random_pdqs(rng, 3_000), random_pdqs(rng, 1_000)
    index = PdqIndex().added(first, np.arange(3_000, dtype=np.int32))
    index = index.added(second, np.arange(3_000, 4_000, dtype=np.int32))
    assert len(index.segments) == 2
    indexed = np.concatenate([first, second])
    picks = rng.integers(0, len(indexed), 300)
    near = np.stack([flip_bits(indexed[i], int(rng.integers(0, 32)), rng) for i in picks])
    queries = np.concatenate([near, random_pdqs(rng, 50)])  # 350 queries: 6 blocks

    asked, rows, distances = index.search(queries, 31)

    brute = np.stack(
        [np.bitwise_count(indexed.view(np.uint64) ^ q).sum(axis=1) for q in queries.view(np.uint64)]
    )
    expected = {
        (q, int(row), int(brute[q, row])) for q in range(len(queries))
        for row in np.flatnonzero(brute[q] <= 31)
    }  # fmt: skip
    found = set(zip(asked.tolist(), rows.tolist(), distances.tolist(), strict=True))
    assert found == expected
    assert len(found) >= 300  # every near query found its origin
    assert asked.tolist() == sorted(asked.tolist())  # ordered by query


def test_dihedral_variants_find_a_mirrored_image(tmp_path: Path) -> None:
    image = Image.new("RGB", (256, 256), (20, 40, 60))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 20, 120, 200), fill=(230, 200, 40))
    draw.ellipse((150, 30, 250, 110), fill=(40, 180, 220))
    draw.polygon([(30, 240), (200, 150), (250, 250)], fill=(200, 60, 90))
    image.save(tmp_path / "original.png")
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "mirrored.png")
    original = hash_file(tmp_path / "original.png")
    mirrored = hash_file(tmp_path / "mirrored.png")
    assert original.pdq and mirrored.pdq and len(mirrored.pdq_dihedral) == 7
    assert all(len(h) == 64 for h in mirrored.pdq_dihedral)
    matcher = Matcher()
    matcher.add_hash_set(ALERT, [IndexedEntry(1, pdq=original.pdq)])
    assert distance(mirrored.pdq, original.pdq) > 31
    assert matcher.match(pdq=mirrored.pdq) == []
    (hit,) = matcher.match(pdq=mirrored.pdq, pdq_variants=mirrored.pdq_dihedral)
    assert hit.hash_entry_id == 1 and hit.kind == "near" and hit.distance_bits is not None
    assert hit.distance_bits <= 31


def test_saved_index_reloads_and_answers_identically(matcher: Matcher, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    queries = [
        MatchQuery(md5="a" * 32),
        MatchQuery(sha1="b" * 40),
        MatchQuery(pdq=flip_bits(np.full(32, 255, np.uint8), 20, rng).tobytes().hex()),
        MatchQuery(pdq=hexes(random_pdqs(rng, 1))[0]),
    ]
    save_matcher(matcher, tmp_path / "index")
    saved = tmp_path / "index"
    manifest = (saved / "CURRENT").read_text()
    version = manifest.removeprefix("manifest-").removesuffix(".json")
    assert sorted(p.name for p in saved.iterdir() if not p.name.startswith(".")) == [
        "CURRENT",
        f"alive-{version}.npy",
        manifest,
        "segments",
        f"video-frames-{version}.npy",
    ]
    # only numpy arrays (loaded with allow_pickle=False) in the segments, never a pickle
    assert {p.suffix for p in (saved / "segments").rglob("*") if p.is_file()} == {".npy"}
    reloaded = load_saved_matcher(tmp_path / "index")
    assert reloaded.match_many(queries) == matcher.match_many(queries)
    assert len(reloaded) == len(matcher) == 5


def test_additions_and_removals_without_rebuild(matcher: Matcher, tmp_path: Path) -> None:
    matcher.add_hash_set(HashSetInfo(3, "later", "alert"), [IndexedEntry(30, pdq="1" * 64)])
    assert len(matcher.pdq) == 3
    assert [r.hash_entry_id for r in matcher.match(pdq="1" * 64)] == [30]
    matcher.remove_hash_set(ALERT.id)
    assert matcher.match(md5="a" * 32) == [] and matcher.match(pdq="f" * 64) == []
    assert [r.hash_entry_id for r in matcher.match(md5="d" * 32)] == [20]
    # replacing a set: the old rows stop matching, the new ones match
    matcher.add_hash_set(GOOD, [IndexedEntry(21, md5="d" * 32)])
    assert [r.hash_entry_id for r in matcher.match(md5="d" * 32)] == [21]
    save_matcher(matcher, tmp_path / "index")
    reloaded = load_saved_matcher(tmp_path / "index")
    reloaded.add_hash_set(HashSetInfo(4, "after-reload", "alert"), [IndexedEntry(40, md5="9" * 32)])
    assert [r.hash_entry_id for r in reloaded.match(md5="9" * 32)] == [40]
    assert [r.hash_entry_id for r in reloaded.match(md5="d" * 32)] == [21]


def test_added_entries_match_without_rebuilding_the_bank() -> None:
    """An update builds only its own segment; the bank's big segment is shared, untouched."""
    rng = np.random.default_rng(3)
    bank = random_pdqs(rng, 5_000)
    matcher = Matcher()
    matcher.add_pdq_array(ALERT, np.arange(5_000, dtype=np.int64), bank)
    (base,) = matcher.pdq.segments
    old_view = matcher.view
    extra = random_pdqs(rng, 50)
    added = matcher.add_entries(
        ALERT.id, [IndexedEntry(9_000 + i, pdq=h) for i, h in enumerate(hexes(extra))]
    )
    assert added == 50 and len(matcher) == 5_050
    assert matcher.pdq.segments[0] is base and len(matcher.pdq.segments) == 2
    (hit,) = matcher.match(pdq=hexes(extra[7:8])[0])
    assert (hit.hash_entry_id, hit.hash_set_id, hit.distance_bits) == (9_007, ALERT.id, 0)
    # the view a reader took before the update still answers from the old bank
    assert old_view.pdq.search(extra[7:8], 31)[1].size == 0
    # many small updates merge with each other, never into the bank's segment
    for round_ in range(20):
        more = random_pdqs(rng, 50)
        matcher.add_entries(
            ALERT.id,
            [IndexedEntry(20_000 + 100 * round_ + i, pdq=h) for i, h in enumerate(hexes(more))],
        )
    assert matcher.pdq.segments[0] is base and len(matcher.pdq.segments) <= 6
    assert len(matcher.pdq) == 6_050
    assert [r.hash_entry_id for r in matcher.match(pdq=hexes(bank[42:43])[0])] == [42]


def test_video_scored_by_shares_of_frames_matched() -> None:
    rng = np.random.default_rng(11)
    known_frames = hexes(random_pdqs(rng, 10))
    matcher = Matcher(video_thresholds=VideoThresholds(query_match_percent=80.0))
    matcher.add_hash_set(ALERT, [IndexedEntry(50, video_pdq=tuple(known_frames))])

    def near(frame: str) -> str:
        code = np.frombuffer(bytes.fromhex(frame), dtype=np.uint8)
        return flip_bits(code, 12, rng).tobytes().hex()

    # a re-encoded clip of the first half: every query frame matches, half the known video
    clip = [{"ts": float(i), "pdq": near(f), "quality": 90} for i, f in enumerate(known_frames[:5])]
    (hit,) = matcher.match(video_frames=clip)
    assert (hit.kind, hit.hash_entry_id) == ("video", 50)
    assert (hit.query_match_percent, hit.compared_match_percent) == (100.0, 50.0)
    assert hit.distance_bits is not None and hit.distance_bits <= 31
    # 3 of 5 query frames match: 60% < 80%
    mixed = clip[:3] + [{"ts": 9.0, "pdq": h, "quality": 90} for h in hexes(random_pdqs(rng, 2))]
    assert matcher.match(video_frames=mixed) == []
    # a stricter compared-share threshold rejects the half clip
    strict = Matcher(video_thresholds=VideoThresholds(compared_match_percent=60.0))
    strict.add_hash_set(ALERT, [IndexedEntry(50, video_pdq=tuple(known_frames))])
    assert strict.match(video_frames=clip) == []
    # low-quality frames do not count
    blurry = [dict(frame, quality=10) for frame in clip]
    assert matcher.match(video_frames=blurry) == []


def test_bad_query_hash_is_bad_input(matcher: Matcher) -> None:
    from vigil.errors import BadInput

    with pytest.raises(BadInput, match="not a md5 hash"):
        matcher.match(md5="xyz")
