"""PDQ radius-31 matching at 1M and 10M indexed hashes, against python-threatexchange and faiss.

    .venv/bin/python -m benchmarks.bench_pdq_match --sizes 1000000 10000000

The anchor is python-threatexchange's ``PDQIndex`` (``threatexchange.signal_type.pdq.
pdq_index``), as a HMA deployment uses it: built from ``(hash, entry)`` pairs and asked one
hash at a time with ``query``. The candidate is Vigil's ``Matcher`` (its numpy multi-index,
``vigil.matching.pdq_index``) answering the same queries batched with ``match_many``, one at a
time with ``match``, and as files of 8 dihedral variants each (``pdq_variants``). faiss's own
multi-index hashing (``IndexBinaryMultiHash``, 16 substrings, ``nflip=1``, every query in one
``range_search``) runs too, as the comparison the index choice rests on. Same random hashes,
same queries: half planted near-duplicates (0..31 bits flipped from an indexed hash), half
random. All indexes are built once and kept; the timed runs alternate between them, repeat
after repeat, so that the load of a shared machine hits every engine alike; medians are
reported, with ``uptime`` before and after. Recall is checked against brute force (numpy
popcount over every indexed hash) on a sample of queries, for every engine: it must be 100%.
Index memory is the growth of resident memory while each index is built.

Every engine runs on one thread (faiss's OpenMP pool set to 1, as Vigil's numpy search is
single-threaded): on a shared 2-core machine an OpenMP team waiting at its barriers for
descheduled threads made a one-hash query several times slower than its CPU time.

Then the update: entries equal to 1% of the bank are added to it (``Matcher.add_entries``)
and timed against the full build, with the peak memory the update allocates.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import Timing, report
from vigil.matching import HashSetInfo, IndexedEntry, Matcher, MatchQuery

RADIUS_BITS = 31
SET = HashSetInfo(1, "bench", "alert", RADIUS_BITS)
VARIANTS = 8


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def make_data(size: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indexed hashes and queries: half planted within 31 bits of an indexed hash."""
    rng = np.random.default_rng(seed)
    indexed = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    planted_count = queries // 2
    origins = rng.choice(size, size=planted_count, replace=False)
    bits = np.unpackbits(indexed[origins], axis=1)
    for row, flips in zip(bits, rng.integers(0, RADIUS_BITS + 1, planted_count), strict=True):
        row[rng.choice(256, size=int(flips), replace=False)] ^= 1
    random_queries = rng.integers(0, 256, size=(queries - planted_count, 32), dtype=np.uint8)
    return indexed, np.concatenate([np.packbits(bits, axis=1), random_queries])


def brute_force(indexed: np.ndarray, queries: np.ndarray) -> list[set[tuple[int, int]]]:
    words = indexed.view(np.uint64)
    answers = []
    for query in queries.view(np.uint64):
        distances = np.bitwise_count(words ^ query).sum(axis=1, dtype=np.int32)
        hits = np.flatnonzero(distances <= RADIUS_BITS)
        answers.append({(int(i), int(distances[i])) for i in hits})
    return answers


def timed_build(label: str, build: Callable[[], Any]) -> tuple[Any, int, float]:
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - start
    gc.collect()
    grown = rss_bytes() - before
    print(f"{label}: built in {seconds:.1f} s, resident memory +{grown / 2**20:,.0f} MiB")
    return built, grown, seconds


def build_vigil(indexed: np.ndarray) -> Matcher:
    matcher = Matcher()
    matcher.add_pdq_array(SET, np.arange(len(indexed), dtype=np.int64), indexed)
    return matcher


def build_faiss(indexed: np.ndarray) -> Any:
    import faiss

    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.add(indexed)
    index.nflip = RADIUS_BITS // 16
    return index


def build_anchor(indexed: np.ndarray) -> Any:
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    return PDQIndex(entries=((row.tobytes().hex(), i) for i, row in enumerate(indexed)))


def faiss_hits(index: Any, queries: np.ndarray) -> list[set[tuple[int, int]]]:
    limits, distances, ids = index.range_search(queries, RADIUS_BITS + 1)
    return [
        {(int(i), int(d)) for i, d in zip(ids[a:b], distances[a:b], strict=True)}
        for a, b in itertools.pairwise(limits)
    ]


def vigil_hits(results: list[Any]) -> list[set[tuple[int, int]]]:
    return [{(r.hash_entry_id, int(r.distance_bits or 0)) for r in hits} for hits in results]


def anchor_hits(index: Any, query: str) -> set[tuple[int, int]]:
    return {(int(m.metadata), int(m.similarity_info.distance)) for m in index.query(query)}


def recall(found: list[set[tuple[int, int]]], truth: list[set[tuple[int, int]]]) -> float:
    expected = sum(len(t) for t in truth)
    hit = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    extra = sum(len(f - t) for f, t in zip(found, truth, strict=True))
    if extra:
        print(f"  ({extra} results not in brute force: wrong distances)")
    return hit / expected if expected else 1.0


def run_size(args: argparse.Namespace, size: int) -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    query_count = args.queries
    print(
        f"\n=== {size:,} indexed PDQ hashes, {query_count:,} queries "
        f"(half planted within {RADIUS_BITS} bits, half random) ===\n{uptime()}",
        flush=True,
    )
    indexed, queries = make_data(size, query_count, args.seed)
    query_hex = [row.tobytes().hex() for row in queries]
    sample = np.random.default_rng(args.seed + 1).choice(
        query_count, size=min(args.recall_sample, query_count), replace=False
    )
    truth = brute_force(indexed, queries[sample])
    print(f"brute force: {sum(map(len, truth))} neighbours for {len(sample)} sampled queries")

    matcher, vigil_bytes, vigil_build = timed_build("Vigil Matcher", lambda: build_vigil(indexed))
    engines: dict[str, Any] = {"vigil": matcher}
    memory = {"vigil": vigil_bytes}
    if not args.no_faiss:
        engines["faiss"], memory["faiss"], _ = timed_build(
            "faiss IndexBinaryMultiHash", lambda: build_faiss(indexed)
        )
    engines["anchor"], memory["anchor"], _ = timed_build("PDQIndex", lambda: build_anchor(indexed))

    batch = [MatchQuery(pdq=h) for h in query_hex]
    files = [
        MatchQuery(pdq=query_hex[i], pdq_variants=tuple(query_hex[i + 1 : i + VARIANTS]))
        for i in range(0, query_count - VARIANTS + 1, VARIANTS)
    ]
    runs: dict[str, tuple[str, Callable[[], Any], int]] = {
        "anchor": (
            "threatexchange PDQIndex.query, one hash at a time",
            lambda: [engines["anchor"].query(h) for h in query_hex],
            query_count,
        ),
        "batched": ("Vigil Matcher.match_many", lambda: matcher.match_many(batch), query_count),
        "single": (
            "Vigil Matcher.match, one hash at a time",
            lambda: [matcher.match(pdq=h) for h in query_hex],
            query_count,
        ),
        "dihedral": (
            f"Vigil Matcher.match_many, files of {VARIANTS} dihedral variants",
            lambda: matcher.match_many(files),
            len(files) * VARIANTS,
        ),
    }
    if "faiss" in engines:
        runs["faiss"] = (
            "faiss IndexBinaryMultiHash.range_search, batched",
            lambda: engines["faiss"].range_search(queries, RADIUS_BITS + 1),
            query_count,
        )
    wall: dict[str, list[float]] = {label: [] for label in runs}
    cpu: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeats):
        for label, (_, run, _) in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    timings = {
        label: Timing(title, wall[label], units, "queries")
        for label, (title, _, units) in runs.items()
    }
    for label in runs:
        if label != "anchor":
            report(f"PDQ radius {RADIUS_BITS}, {size:,} hashes", timings[label], timings["anchor"])
    print(uptime())
    for label, (_, _, units) in runs.items():
        per_query = 1000 * float(np.median(cpu[label])) / units
        print(f"CPU time per query, median: {label} {per_query:.3f} ms")

    found = {
        "vigil": vigil_hits(matcher.match_many([batch[q] for q in sample])),
        "anchor": [anchor_hits(engines["anchor"], query_hex[q]) for q in sample],
    }
    if "faiss" in engines:
        found["faiss"] = faiss_hits(engines["faiss"], queries[sample])
    recalls = {name: recall(hits, truth) for name, hits in found.items()}
    print(
        f"recall vs brute force on {len(sample)} queries: "
        + ", ".join(f"{name} {value:.2%}" for name, value in recalls.items())
    )
    print(
        "index memory (resident growth while building): "
        + ", ".join(
            f"{name} {grown / 2**30:.2f} GiB ({grown / size:.0f} bytes/hash)"
            for name, grown in memory.items()
        ),
        flush=True,
    )
    engines.clear()  # free the other indexes before the update is measured
    gc.collect()
    measure_update(matcher, size, vigil_build, args.seed)
    if recalls["vigil"] < 1.0:
        raise SystemExit(f"FAIL: recall {recalls['vigil']:.4%} < 100%")


def measure_update(matcher: Matcher, size: int, full_build_seconds: float, seed: int) -> None:
    """+1% entries appended to the bank: time and peak allocation against the full build."""
    extra = np.random.default_rng(seed + 2).integers(0, 256, (size // 100, 32), np.uint8)
    entries = [IndexedEntry(size + i, pdq=row.tobytes().hex()) for i, row in enumerate(extra)]
    base = matcher.view
    seconds = []
    for _ in range(3):
        matcher.view = base
        start = time.perf_counter()
        matcher.add_entries(SET.id, entries)
        seconds.append(time.perf_counter() - start)
    matcher.view = base
    tracemalloc.start()
    matcher.add_entries(SET.id, entries)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    probe = matcher.match(pdq=entries[-1].pdq or "")
    assert [r.hash_entry_id for r in probe] == [size + len(entries) - 1]
    update = float(np.median(seconds))
    print(
        f"update +1% ({len(entries):,} entries, from IndexedEntry objects): "
        f"{update:.2f} s (median of 3) against a full build of {full_build_seconds:.2f} s "
        f"from arrays ({update / full_build_seconds:.1%}); peak allocation during the update "
        f"{peak / 2**20:,.0f} MiB against the index's {matcher.pdq.memory_bytes / 2**20:,.0f} MiB;"
        f" segments now {[len(s) for s in matcher.pdq.segments]}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--recall-sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2006)
    parser.add_argument("--no-faiss", action="store_true", help="skip raw faiss (saves memory)")
    args = parser.parse_args()
    for size in args.sizes:
        run_size(args, size)


if __name__ == "__main__":
    main()
