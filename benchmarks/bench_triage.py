"""`vigil triage` throughput, database writes included, against hashdeep plus a naive PDQ pass.

    .venv/bin/python -m benchmarks.bench_triage --photos 500 --small 100000

Two workloads, each measured against the same anchor in the same run, each ending with its
goal's verdict (the goals of issue 17, on 2 cores):
- the hashing benchmark's camera-like JPEGs (1-5 MB, generated once by
  ``benchmarks.bench_hash.ensure_photos``); goal: at least 6x the anchor's throughput;
- many small files (1-50 KB: small JPEGs, text and binary files, generated once under
  ``benchmarks/data/small-files/``); goal: at least 2,000 files/s.

The anchor is what a unit does without Vigil: ``hashdeep -c md5,sha1,sha256 -r`` plus a naive
PDQ pass (full Pillow decode, then pdqhash) over the images, one process. The candidate is
``vigil triage DIR --case BENCH --jobs N`` as a user runs it (a subprocess, start-up
included) into a fresh SQLite database each time, with a hash set imported so matching runs
too. The files are read once before anything is timed, so both sides start with them in the
page cache; the candidate's summary of its timed run is then checked (every file counted,
every image seen, the known files matched). The load average is printed beside each result.
With ``--photos 200 --small 50000`` (one repeat, the default) a quiet 2-core machine takes
about 10 minutes, most of it the anchor's full decodes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.bench_hash import DATA_DIR, ensure_photos, naive_pdq, run_hashdeep
from benchmarks.common import Timing, measure, report

SMALL_DIR = Path(__file__).parent / "data" / "small-files"
SMALL_PER_FOLDER = 1000
PHOTOS_GOAL_RATIO = 6.0  # x the anchor's files/s
SMALL_GOAL_FILES_PER_SECOND = 2000.0


def small_file(index: int) -> tuple[str, bytes]:
    """One 1-50 KB file: a small JPEG (half of them), else text or binary."""
    rng = np.random.default_rng(index)
    if index % 2 == 0:
        width, height = int(rng.integers(96, 360)), int(rng.integers(72, 270))
        base = rng.integers(0, 255, (6, 8, 3)).astype(np.uint8)
        image = Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC)
        noisy = np.asarray(image, dtype=np.int16) + rng.integers(-20, 20, (height, width, 3))
        out = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
        return f"IMG_{index:06d}.jpg", out.getvalue()
    size = int(rng.integers(1_000, 50_000))
    if index % 4 == 1:
        words = rng.choice(["night", "all", "check", "your", "DMs", "backup", "list"], size // 5)
        return f"note_{index:06d}.txt", " ".join(words).encode()[:size]
    return f"blob_{index:06d}.bin", rng.bytes(size)


def _write_small(args: tuple[Path, int, int]) -> int:
    folder, start, stop = args
    sub = folder / f"{start // SMALL_PER_FOLDER:04d}"
    sub.mkdir(parents=True, exist_ok=True)
    total = 0
    for index in range(start, stop):
        name, data = small_file(index)
        path = sub / name
        if not path.exists():
            path.write_bytes(data)
        total += path.stat().st_size
    return total


def ensure_small_files(folder: Path, count: int, jobs: int) -> Path:
    target = folder.parent / f"{folder.name}-{count}"
    if target.is_dir() and sum(1 for _ in target.rglob("*.*")) == count:
        return target
    shutil.rmtree(target, ignore_errors=True)
    ranges = [(target, s, min(s + SMALL_PER_FOLDER, count)) for s in range(0, count, 1000)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        total = sum(pool.map(_write_small, ranges))
    print(f"data: {count} small files in {target}, {total / 1e6:,.0f} MB", flush=True)
    return target


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))


def cpu_seconds() -> float:
    """CPU time of this process and of every child it has waited for (their workers too)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def anchor_timing(folder: Path, files: int, repeats: int) -> Timing:
    images = images_in(folder)
    hashdeep = measure(
        "hashdeep", lambda: run_hashdeep(folder), units=files, unit_name="files", repeats=repeats
    )
    naive = measure(
        "naive PDQ",
        lambda: [naive_pdq(path) for path in images],
        units=files,
        unit_name="files",
        repeats=repeats,
    )
    return Timing(
        f"hashdeep -c md5,sha1,sha256 -r ({hashdeep.rate:,.1f} files/s) + naive PDQ over "
        f"{len(images)} images, full Pillow decode, 1 process",
        [a + b for a, b in zip(hashdeep.seconds, naive.seconds, strict=True)],
        files,
        "files",
    )


class TriageRun:
    """A fresh database with one small alert set, then `vigil triage` as a subprocess."""

    def __init__(self, folder: Path, jobs: int, workdir: Path):
        self.folder, self.jobs, self.workdir = folder, jobs, workdir
        self.summary: dict[str, float] = {}
        self.work_seconds: list[float] = []  # the summary's own seconds: start-up excluded
        self.cpu_seconds: list[float] = []  # the triage process and its workers, all cores

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VIGIL_DB": f"sqlite:///{self.workdir / 'bench.db'}",
            "VIGIL_ADMIN_PASSWORD": "bench",
        }

    def vigil(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "vigil", *args], capture_output=True, text=True, env=self.env()
        )
        if done.returncode != 0:
            sys.exit(f"vigil {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")

    def setup(self) -> None:
        for leftover in self.workdir.glob("bench.db*"):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        self.vigil("init", "--agency", "BENCH")
        self.vigil("case", "open", "BENCH")
        known = images_in(self.folder)[:20]
        hashset = self.workdir / "known.txt"
        hashset.write_text("".join(_md5(path) + "\n" for path in known))
        self.vigil("hashset", "import", "list", str(hashset), "--name", "known", "--kind", "alert")

    def run(self) -> None:
        out = self.workdir / "summary.json"
        cpu_before = cpu_seconds()
        self.vigil(
            "triage", str(self.folder), "--case", "BENCH", "--jobs", str(self.jobs),
            "--summary-json", str(out),
        )  # fmt: skip
        self.cpu_seconds.append(cpu_seconds() - cpu_before)
        self.summary = json.loads(out.read_text())
        self.work_seconds.append(float(self.summary["seconds"]))


def _md5(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()


def warm_page_cache(folder: Path) -> None:
    """Read every file once so neither side pays for the first read from disk."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 20):
                    pass


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def bench(title: str, folder: Path, jobs: int, repeats: int) -> tuple[Timing, Timing]:
    """(candidate, anchor) timings, both reported."""
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"{title}: {load()} before", flush=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-triage-") as work:
        candidate_run = TriageRun(folder, jobs, Path(work))
        warm_page_cache(folder)
        cpu_before = cpu_seconds()
        anchor = anchor_timing(folder, files, repeats)
        anchor_cpu = (cpu_seconds() - cpu_before) / repeats
        candidate = measure(
            f"vigil triage --jobs {jobs} (fresh SQLite database, writes included)",
            candidate_run.run,
            units=files,
            unit_name="files",
            repeats=repeats,
            setup=candidate_run.setup,
        )
        summary = candidate_run.summary
        assert summary["files"] == files, (summary, files)
        # Random binary filler can carry an image signature by chance: at least the JPEGs.
        assert summary["images"] >= len(images_in(folder)), summary
        assert summary["known_alert_files"] >= 20, summary
        print(f"check: {json.dumps(summary)}", flush=True)
    work = Timing(
        f"vigil triage --jobs {jobs}, its own seconds (process start-up excluded)",
        candidate_run.work_seconds[-repeats:],
        files,
        "files",
    )
    report(title, candidate, anchor)
    report(f"{title}, work only", work, anchor)
    # CPU time barely depends on what else the machine runs, unlike the rates above.
    candidate_cpu = statistics.median(candidate_run.cpu_seconds[-repeats:])
    print(
        f"cpu: anchor {anchor_cpu / files * 1e3:.3f} ms/file, candidate "
        f"{candidate_cpu / files * 1e3:.3f} ms/file over all its processes, start-up included "
        f"(if CPU-bound on {jobs} free cores: {jobs * files / candidate_cpu:,.0f} files/s, "
        f"{jobs * anchor_cpu / candidate_cpu:.2f}x the anchor)",
        flush=True,
    )
    print(f"{title}: {load()} after", flush=True)
    return candidate, anchor


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=500, help="camera-like JPEGs (0: skip)")
    parser.add_argument("--small", type=int, default=100_000, help="small files (0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="vigil triage --jobs")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    if shutil.which("hashdeep") is None:
        sys.exit("hashdeep (the anchor) is not installed: apt-get install hashdeep")
    verdicts: list[str] = []
    if args.photos:
        photos = ensure_photos(DATA_DIR, args.photos, args.jobs)
        folder = DATA_DIR.parent / f"triage-jpegs-{args.photos}"
        if not folder.is_dir() or len(list(folder.iterdir())) != len(photos):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for path in photos:
                os.link(path, folder / path.name)
        title = f"Triage: {args.photos} camera-like JPEGs (1-5 MB)"
        candidate, anchor = bench(title, folder, args.jobs, args.repeats)
        ratio = candidate.rate / anchor.rate
        verdicts.append(
            f"goal: camera photos at >= {PHOTOS_GOAL_RATIO:g}x the anchor: {ratio:.2f}x, "
            f"{verdict(ratio >= PHOTOS_GOAL_RATIO)}"
        )
    if args.small:
        folder = ensure_small_files(SMALL_DIR, args.small, args.jobs)
        title = f"Triage: {args.small:,} small files (1-50 KB)"
        candidate, _anchor = bench(title, folder, args.jobs, args.repeats)
        verdicts.append(
            f"goal: small files at >= {SMALL_GOAL_FILES_PER_SECOND:,.0f} files/s with --jobs "
            f"{args.jobs}: {candidate.rate:,.0f} files/s, "
            f"{verdict(candidate.rate >= SMALL_GOAL_FILES_PER_SECOND)}"
        )
    print("\n".join(verdicts), flush=True)


if __name__ == "__main__":
    main()
