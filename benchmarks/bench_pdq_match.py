"""PDQ radius-31 matching at 1M and 10M indexed hashes, against python-threatexchange.

    .venv/bin/python -m benchmarks.bench_pdq_match --sizes 1000000 10000000

The anchor is python-threatexchange's ``PDQIndex`` (``threatexchange.signal_type.pdq.
pdq_index``), as a HMA deployment uses it: built from ``(hash, entry)`` pairs and asked one
hash at a time with ``query``. The candidate is Vigil's ``Matcher`` answering the same queries
with ``match_many`` (one batched faiss search); its one-query-at-a-time ``match`` is timed
too. Same random hashes, same queries: half planted near-duplicates (0..31 bits flipped from
an indexed hash), half random. Recall is checked against brute force (numpy popcount over
every indexed hash) on a sample of queries, for both engines: it must be 100%. Index memory is
the growth of resident memory while the index is built (the input array excluded).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import Timing, measure, report
from vigil.matching import HashSetInfo, Matcher, MatchQuery

RADIUS_BITS = 31
SET = HashSetInfo(1, "bench", "alert", RADIUS_BITS)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def make_data(size: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indexed hashes and queries: half planted within 31 bits of an indexed hash."""
    rng = np.random.default_rng(seed)
    indexed = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    planted_count = queries // 2
    origins = rng.choice(size, size=planted_count, replace=False)
    planted = indexed[origins].copy()
    for row, bits in zip(planted, rng.integers(0, RADIUS_BITS + 1, planted_count), strict=True):
        positions = rng.choice(256, size=int(bits), replace=False)
        for position in positions:
            row[position // 8] ^= np.uint8(1 << (7 - position % 8))
    random_queries = rng.integers(0, 256, size=(queries - planted_count, 32), dtype=np.uint8)
    return indexed, np.concatenate([planted, random_queries])


def brute_force(indexed: np.ndarray, queries: np.ndarray) -> list[set[tuple[int, int]]]:
    words = indexed.view(np.uint64)
    answers = []
    for query in queries.view(np.uint64):
        distances = np.bitwise_count(words ^ query).sum(axis=1, dtype=np.int32)
        hits = np.flatnonzero(distances <= RADIUS_BITS)
        answers.append({(int(i), int(distances[i])) for i in hits})
    return answers


CPU_SECONDS: dict[str, list[float]] = {}


def cpu_timed(label: str, run: Callable[[], Any]) -> Callable[[], Any]:
    """Also record process CPU time: on a shared machine wall time drifts with others' load,
    CPU time (all threads of this process) much less."""

    def wrapped() -> Any:
        start = time.process_time()
        result = run()
        CPU_SECONDS.setdefault(label, []).append(time.process_time() - start)
        return result

    return wrapped


def timed_build(label: str, build: Callable[[], Any]) -> tuple[Any, int, float]:
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - start
    gc.collect()
    grown = rss_bytes() - before
    print(
        f"{label}: built in {seconds:.1f} s, resident memory +{grown / 2**20:,.0f} MiB", flush=True
    )
    return built, grown, seconds


def run_size(size: int, query_count: int, repeats: int, recall_sample: int, seed: int) -> None:
    print(
        f"\n=== {size:,} indexed PDQ hashes, {query_count:,} queries "
        f"(half planted within {RADIUS_BITS} bits, half random) ===",
        flush=True,
    )
    indexed, queries = make_data(size, query_count, seed)
    query_hex = [row.tobytes().hex() for row in queries]
    sample = np.random.default_rng(seed + 1).choice(
        query_count, size=min(recall_sample, query_count), replace=False
    )
    start = time.perf_counter()
    truth = brute_force(indexed, queries[sample])
    print(
        f"brute force on {len(sample)} sampled queries: {time.perf_counter() - start:.1f} s; "
        f"{sum(map(len, truth))} neighbours within {RADIUS_BITS} bits",
        flush=True,
    )

    # candidate first, on a fresh heap, so that its memory figure is clean
    batched, single, vigil_recall, vigil_bytes, estimate_bytes = _run_vigil(
        indexed, query_hex, sample, truth, repeats
    )
    _release_memory()
    anchor, anchor_recall, anchor_bytes = _run_anchor(indexed, query_hex, sample, truth, repeats)
    _release_memory()

    report(f"PDQ radius-{RADIUS_BITS} matching, {size:,} hashes, batched", batched, anchor)
    report(f"PDQ radius-{RADIUS_BITS} matching, {size:,} hashes, one at a time", single, anchor)
    print(
        f"recall vs brute force on {len(sample)} queries: Vigil {vigil_recall:.2%}, "
        f"PDQIndex {anchor_recall:.2%}"
    )
    print(
        f"index memory (resident growth while building): Vigil {vigil_bytes / 2**30:.2f} GiB "
        f"(estimate {estimate_bytes / 2**30:.2f} GiB), "
        f"PDQIndex {anchor_bytes / 2**30:.2f} GiB",
        flush=True,
    )
    _print_cpu_per_query(query_count)
    _assert_total_recall(vigil_recall, batched, anchor)


def _print_cpu_per_query(query_count: int) -> None:
    """CPU seconds, the best of each side's runs: less distorted than wall time by load."""
    cpu = {label: min(seconds) for label, seconds in CPU_SECONDS.items()}
    CPU_SECONDS.clear()
    print(
        f"CPU time per query: PDQIndex {1000 * cpu['anchor'] / query_count:.1f} ms, "
        f"Vigil batched {1000 * cpu['batched'] / query_count:.1f} ms "
        f"({cpu['anchor'] / cpu['batched']:.2f}x), one at a time "
        f"{1000 * cpu['single'] / query_count:.1f} ms ({cpu['anchor'] / cpu['single']:.2f}x)",
        flush=True,
    )


def _run_vigil(
    indexed: np.ndarray,
    query_hex: list[str],
    sample: np.ndarray,
    truth: list[set[tuple[int, int]]],
    repeats: int,
) -> tuple[Timing, Timing, float, int, int]:
    def build() -> Matcher:
        matcher = Matcher()
        matcher.add_pdq_array(SET, np.arange(len(indexed), dtype=np.int64), indexed)
        return matcher

    matcher, grown_bytes, _ = timed_build("Vigil Matcher", build)
    batch = [MatchQuery(pdq=h) for h in query_hex]
    results = matcher.match_many([batch[q] for q in sample])
    found = [{(r.hash_entry_id, int(r.distance_bits or 0)) for r in hits} for hits in results]
    batched = measure(
        "Vigil Matcher.match_many (batched)",
        cpu_timed("batched", lambda: matcher.match_many(batch)),
        units=len(query_hex),
        unit_name="queries",
        repeats=repeats,
    )
    single = measure(
        "Vigil Matcher.match, one hash at a time",
        cpu_timed("single", lambda: [matcher.match(pdq=h) for h in query_hex]),
        units=len(query_hex),
        unit_name="queries",
        repeats=repeats,
    )
    return batched, single, _recall(found, truth), grown_bytes, matcher.pdq.memory_bytes


def _run_anchor(
    indexed: np.ndarray,
    query_hex: list[str],
    sample: np.ndarray,
    truth: list[set[tuple[int, int]]],
    repeats: int,
) -> tuple[Timing, float, int]:
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    def build() -> PDQIndex:
        return PDQIndex(entries=((row.tobytes().hex(), i) for i, row in enumerate(indexed)))

    index, grown_bytes, _ = timed_build("PDQIndex", build)
    found = [_anchor_hits(index, query_hex[q]) for q in sample]
    anchor = measure(
        "threatexchange PDQIndex.query, one hash at a time",
        cpu_timed("anchor", lambda: [index.query(h) for h in query_hex]),
        units=len(query_hex),
        unit_name="queries",
        repeats=repeats,
    )
    return anchor, _recall(found, truth), grown_bytes


def run_interleaved(
    size: int, query_count: int, repeats: int, recall_sample: int, seed: int
) -> None:
    """Both indexes alive at once and timed alternately, so that load drift on a shared
    machine hits both alike (needs both indexes' memory at the same time)."""
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    print(
        f"\n=== interleaved: {size:,} indexed PDQ hashes, {query_count:,} queries ===", flush=True
    )
    indexed, queries = make_data(size, query_count, seed)
    query_hex = [row.tobytes().hex() for row in queries]
    sample = np.arange(min(recall_sample, query_count))
    truth = brute_force(indexed, queries[sample])

    def build_vigil() -> Matcher:
        matcher = Matcher()
        matcher.add_pdq_array(SET, np.arange(size, dtype=np.int64), indexed)
        return matcher

    matcher, vigil_bytes, _ = timed_build("Vigil Matcher", build_vigil)
    anchor_index, anchor_bytes, _ = timed_build(
        "PDQIndex",
        lambda: PDQIndex(entries=((row.tobytes().hex(), i) for i, row in enumerate(indexed))),
    )
    batch = [MatchQuery(pdq=h) for h in query_hex]
    runs = {
        "anchor": lambda: [anchor_index.query(h) for h in query_hex],
        "batched": lambda: matcher.match_many(batch),
        "single": lambda: [matcher.match(pdq=h) for h in query_hex],
    }
    wall: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            start = time.perf_counter()
            cpu_timed(label, run)()
            wall[label].append(time.perf_counter() - start)
    anchor = Timing(
        "threatexchange PDQIndex.query, one at a time", wall["anchor"], query_count, "queries"
    )
    batched = Timing("Vigil Matcher.match_many (batched)", wall["batched"], query_count, "queries")
    single = Timing("Vigil Matcher.match, one at a time", wall["single"], query_count, "queries")
    vigil_found = [
        {(r.hash_entry_id, int(r.distance_bits or 0)) for r in hits}
        for hits in matcher.match_many([batch[q] for q in sample])
    ]
    anchor_found = [_anchor_hits(anchor_index, query_hex[q]) for q in sample]
    report(f"PDQ radius-{RADIUS_BITS}, {size:,} hashes, interleaved, batched", batched, anchor)
    report(f"PDQ radius-{RADIUS_BITS}, {size:,} hashes, interleaved, one at a time", single, anchor)
    print(
        f"recall vs brute force on {len(sample)} queries: Vigil {_recall(vigil_found, truth):.2%}, "
        f"PDQIndex {_recall(anchor_found, truth):.2%}"
    )
    print(
        f"index memory: Vigil {vigil_bytes / 2**30:.2f} GiB, "
        f"PDQIndex {anchor_bytes / 2**30:.2f} GiB"
    )
    _print_cpu_per_query(query_count)


def _anchor_hits(index: Any, query: str) -> set[tuple[int, int]]:
    return {(int(m.metadata), int(m.similarity_info.distance)) for m in index.query(query)}


def _release_memory() -> None:
    """Hand freed heap back to the OS so the next build's resident growth is its own."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _recall(found: list[set[tuple[int, int]]], truth: list[set[tuple[int, int]]]) -> float:
    expected = sum(len(t) for t in truth)
    hit = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    extra = sum(len(f - t) for f, t in zip(found, truth, strict=True))
    if extra:
        print(f"  ({extra} results not in brute force: wrong distances)")
    return hit / expected if expected else 1.0


def _assert_total_recall(recall: float, candidate: Timing, anchor: Timing) -> None:
    if recall < 1.0:
        raise SystemExit(f"FAIL: recall {recall:.4%} < 100%")
    verdict = "meets" if candidate.rate >= anchor.rate else "misses"
    print(f"goal (queries/s >= PDQIndex): {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recall-sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2006)
    parser.add_argument(
        "--interleave", action="store_true", help="keep both indexes and alternate their runs"
    )
    args = parser.parse_args()
    runner = run_interleaved if args.interleave else run_size
    for size in args.sizes:
        runner(size, args.queries, args.repeats, args.recall_sample, args.seed)


if __name__ == "__main__":
    main()
