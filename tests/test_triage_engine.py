"""The triage engine on plain data: series grouping and the count rules."""

from __future__ import annotations

import random

from vigil.triage.series import SeriesCandidate, group_series
from vigil.triage.summary import SUMMARY_KEYS, FoundFile, summarise


def _pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(pdq: str, bits: list[int]) -> str:
    value = int(pdq, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


def test_images_sharing_a_camera_serial_form_one_series_with_reasons():
    rng = random.Random(1)
    shots = [
        SeriesCandidate(f"s{i}", _pdq(rng), 90, "Canon", "PowerShot A520", "12345678A")
        for i in range(4)
    ]
    strangers = [SeriesCandidate(f"u{i}", _pdq(rng), 90) for i in range(5)]

    (series,) = group_series(shots + strangers)

    assert series.keys == ("s0", "s1", "s2", "s3")
    assert series.camera_serial == "12345678A"
    assert series.reasons == (
        "4 images share camera serial 12345678A (Canon PowerShot A520) in EXIF",
    )
    assert series.label == "camera 12345678A: 4 images"


def test_pdq_proximity_links_images_and_says_how_close():
    rng = random.Random(2)
    base = _pdq(rng)
    close = [
        SeriesCandidate("a", base, 100),
        SeriesCandidate("b", _flip(base, [1, 2, 3, 4, 5]), 100),
        SeriesCandidate("c", _flip(base, list(range(30, 50))), 100),
    ]
    far = SeriesCandidate("d", _flip(base, list(range(0, 256, 4))), 100)  # 64 bits away

    (series,) = group_series([*close, far])

    assert series.keys == ("a", "b", "c")
    assert series.camera_serial is None
    assert series.reasons == (
        "3 image pairs within PDQ distance 31 bits (closest 5 bits, farthest 25 bits)",
    )


def test_unrelated_and_low_quality_images_are_not_grouped_and_order_does_not_matter():
    rng = random.Random(3)
    base = _pdq(rng)
    candidates = [SeriesCandidate(f"u{i}", _pdq(rng), 90) for i in range(50)]
    candidates += [  # near-identical hashes, but from flat pictures whose PDQ means little
        SeriesCandidate("flat1", base, 10),
        SeriesCandidate("flat2", base, 10),
        SeriesCandidate("no-serial", None, None, "Canon", "X", "   "),
        SeriesCandidate("no-serial-2", None, None, "Canon", "X", ""),
    ]
    assert group_series(candidates) == []
    shuffled = candidates[:]
    random.Random(4).shuffle(shuffled)
    serial = [SeriesCandidate(f"z{i}", None, None, "Sony", "W50", "S1") for i in range(2)]
    assert group_series(shuffled + serial) == group_series(serial + candidates)


def test_the_same_serial_on_different_camera_models_is_two_series():
    candidates = [
        SeriesCandidate("a1", None, None, "Canon", "A", "100"),
        SeriesCandidate("a2", None, None, "Canon", "A", "100"),
        SeriesCandidate("b1", None, None, "Nikon", "B", "100"),
        SeriesCandidate("b2", None, None, "Nikon", "B", "100"),
    ]
    assert [group.keys for group in group_series(candidates)] == [("a1", "a2"), ("b1", "b2")]


def test_count_rules_are_exclusive_and_ordered():
    found = [
        FoundFile(100, "image/jpeg", False, exact_alert=True, near=True),  # alert wins
        FoundFile(200, "image/jpeg", False, exact_ignorable=True, near=True),  # near wins
        FoundFile(300, "text/plain", False, exact_ignorable=True),
        FoundFile(400, "image/jpeg", True),  # undecodable: still an unknown image
        FoundFile(500, "video/mp4", False),
        FoundFile(0, "application/x-empty", False),
    ]

    summary = summarise(found, series=2, seconds=1.23456)

    assert summary.as_dict() == {
        "files": 6,
        "bytes": 1500,
        "images": 3,
        "videos": 1,
        "known_alert_files": 1,
        "known_ignorable_files": 1,
        "near_match_files": 1,
        "unknown_image_files": 1,
        "series": 2,
        "errors": 1,
        "seconds": 1.235,
    }
    assert tuple(summary.as_dict()) == SUMMARY_KEYS
