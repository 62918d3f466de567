"""The fuzzing harness's long run: many hostile documents per source and hash-set format.

`make test` runs the same strategies (``tests/hostile_inputs.py``) for a few examples each;
this runs many more and prints, per format, how many documents were ingested, refused with
exit 2 (a ``VigilError``) and crashed (anything else: must be 0), and documents per second.
It is a robustness run, not a speed figure. See docs/reliability.md.

    python -m benchmarks.bench_fuzz --examples 500
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from tests.actors import admin_actor
from tests.hostile_inputs import GENERATORS, HASHSET_GENERATORS, write

from vigil.errors import VigilError
from vigil.store.db import Store
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest


def fuzz(format_name: str, examples: int, work: Path) -> Counter[str]:
    store = Store(f"sqlite:///{work / f'{format_name}.db'}")
    init_store(store, "FUZZ", "Fuzz", "CA")
    open_case(store, admin_actor(store), "CASE-1")
    hash_set = format_name in HASHSET_GENERATORS
    strategy, file_name = (HASHSET_GENERATORS if hash_set else GENERATORS)[format_name]
    outcomes: Counter[str] = Counter()
    counter = iter(range(10**9))
    crashes: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=strategy)
    def run(data: bytes) -> None:
        path = write(work, file_name, data)
        try:
            if hash_set:
                name = f"fuzz-{next(counter)}"
                import_hash_set(store, admin_actor(store), format_name, path, name=name)
            else:
                ingest(store, admin_actor(store), format_name, str(path), "CASE-1")
            outcomes["ingested"] += 1
        except VigilError:
            outcomes["refused"] += 1
        except Exception as exc:  # the harness exists to count these
            outcomes["crashed"] += 1
            crashes.append(f"{type(exc).__name__}: {exc}"[:200])

    run()
    store.dispose()
    for crash in crashes[:5]:
        print(f"  crash: {crash}")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="documents per format")
    args = parser.parse_args()
    print(f"{'format':12} {'docs':>6} {'ingested':>9} {'refused':>8} {'crashed':>8} {'docs/s':>8}")
    for format_name in [*sorted(GENERATORS), *sorted(HASHSET_GENERATORS)]:
        with tempfile.TemporaryDirectory(prefix="vigil-fuzz-") as folder:
            started = time.perf_counter()
            outcome = fuzz(format_name, args.examples, Path(folder))
            seconds = time.perf_counter() - started
        total = sum(outcome.values())
        print(
            f"{format_name:12} {total:6} {outcome['ingested']:9} {outcome['refused']:8} "
            f"{outcome['crashed']:8} {total / seconds:8.1f}"
        )


if __name__ == "__main__":
    main()
