"""Streaming hash-set import: a 1-million-entry VICS 2.0 file, peak memory and throughput.

    .venv/bin/python -m benchmarks.bench_hashset_import --entries 1000000

Goal (issue 4): peak resident memory under 500 MB for ``vigil hashset import vics`` (parse,
validate, insert into an initialised SQLite store in one transaction). Each step runs in its
own child process so ``ru_maxrss`` is that step's own peak; the match index, built afterwards
by ``vigil hashset index`` (or the first triage), is reported separately. The anchor,
measured on the same file in the same run, is parsing alone (``VicsFormat().read``); the
naive approach, ``json.load`` of the whole file, is shown for its memory.

Then the update (issue 17): a second file of 1% more entries is appended to the set
(``vigil hashset import vics FILE --name bench --append``) and the index brought up to date
again, timed against the full index build: the refresh reads and indexes only the appended
entries, so it should cost about 1% of the build, not a rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Timing, report

DATA_DIR = Path(__file__).parent / "data"
GOAL_BYTES = 500 * 2**20

PARSE_ONLY = """
import sys
from pathlib import Path
from vigil.formats.vics import VicsFormat
print(sum(1 for _ in VicsFormat().read(Path(sys.argv[1]))))
"""
NAIVE = """
import json, sys
print(len(json.load(open(sys.argv[1], encoding="utf-8-sig"))["value"]))
"""
INIT = """
import sys
from vigil.store.db import Store
from vigil.workflows.operation.setup import init_store
init_store(Store(sys.argv[1]), "BENCH")
"""
IMPORT = """
import sys
from pathlib import Path
from vigil.store.db import Store
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.operation.setup import find_actor
store = Store(sys.argv[2])
append = sys.argv[3:] == ["append"]
result = import_hash_set(
    store, find_actor(store, "admin"), "vics", Path(sys.argv[1]), name="bench", append=append
)
print(result.entries)
"""
INDEX = """
import sys, time
from vigil.store.db import Store
from vigil.workflows.media.hashsets import refresh_index
store = Store(sys.argv[1])
start = time.perf_counter()
entries = refresh_index(store).entries
print(entries, f"{time.perf_counter() - start:.3f}")
"""


def write_vics(path: Path, entries: int, first: int = 0) -> None:
    """A VICS 2.0 #Media file shaped like a real export: hashes, flags, PDQ, file names."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/'
            '2.0.xml/US/$metadata#Media", "value": [\n'
        )
        for number in range(first, first + entries):
            media = {
                "MediaID": number + 1,
                "Category": number % 4,
                "MD5": f"{number * 2654435761 % 2**128:032X}",
                "SHA1": f"{number * 40503 % 2**160:040x}",
                "MediaSize": 10_000 + number,
                "VictimIdentified": "true" if number % 7 == 0 else "false",
                "OffenderIdentified": False,
                "IsDistributed": number % 3 == 0,
                "Series": f"series-{number % 500}" if number % 5 == 0 else None,
                "AlternativeHashes": [
                    {
                        "HashName": "PDQ",
                        "HashValue": f"{number * 11400714819323198485 % 2**256:064x}",
                    }
                ],
                "MediaFiles": [{"FileName": f"image_{number:07d}.jpg"}],
            }
            out.write(("" if number == first else ",\n") + json.dumps(media))
        out.write("\n]}\n")


def run_child(label: str, script: str, *args: str) -> tuple[float, int, str]:
    """Seconds, peak resident bytes and output of one step in a fresh interpreter."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest so far
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{label} failed: {stderr.strip()[-2000:]}")
    peak_bytes = usage.ru_maxrss * 1024
    print(
        f"{label}: {seconds:.1f} s, peak resident {peak_bytes / 2**20:,.0f} MiB, "
        f"output {stdout.strip()}",
        flush=True,
    )
    return seconds, peak_bytes, stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--skip-naive", action="store_true", help="json.load needs GBs")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"vics-{args.entries}.json"
    if not path.exists():
        start = time.perf_counter()
        write_vics(path, args.entries)
        print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
    print(f"{args.entries:,} entries, {path.stat().st_size / 2**20:,.0f} MiB")
    parse_seconds, parse_peak, _ = run_child("parse only", PARSE_ONLY, str(path))
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        env_password = os.environ.setdefault("VIGIL_ADMIN_PASSWORD", "bench")
        assert env_password
        run_child("vigil init (not counted)", INIT, url)
        import_seconds, import_peak, imported = run_child("import", IMPORT, str(path), url)
        _, build_peak, built = run_child(
            "match index build afterwards (vigil hashset index)", INDEX, url
        )
        delta = Path(scratch) / "delta.json"
        write_vics(delta, args.entries // 100, first=args.entries)
        run_child(
            f"append {args.entries // 100:,} entries (+1%)", IMPORT, str(delta), url, "append"
        )
        _, update_peak, updated = run_child("index refresh after the append", INDEX, url)
    assert int(imported) == args.entries, imported
    indexed, update_seconds = updated.split()
    build_seconds = float(built.split()[1])
    assert int(indexed) == args.entries + args.entries // 100, indexed
    print(
        f"index update for +1%: {float(update_seconds):.2f} s against the full build's "
        f"{build_seconds:.2f} s ({float(update_seconds) / build_seconds:.1%}; process start-up "
        f"excluded); peak resident {update_peak / 2**20:,.0f} MiB against "
        f"{build_peak / 2**20:,.0f} MiB"
    )
    if not args.skip_naive:
        run_child("naive json.load (for memory only)", NAIVE, str(path))
    report(
        f"VICS import, {args.entries:,} entries",
        Timing(
            "vigil hashset import vics (parse, validate, insert)",
            [import_seconds],
            args.entries,
            "entries",
        ),
        Timing("parsing alone (VicsFormat.read)", [parse_seconds], args.entries, "entries"),
    )
    verdict = "meets" if import_peak < GOAL_BYTES else "MISSES"
    print(
        f"peak resident memory of the import: {import_peak / 2**20:,.0f} MiB "
        f"(goal < 500 MiB: {verdict}); parse alone {parse_peak / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
