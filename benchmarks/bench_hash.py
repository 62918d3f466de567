"""`vigil hash` throughput on camera-like JPEGs, against hashdeep plus a naive PDQ pass.

    .venv/bin/python -m benchmarks.bench_hash --files 500

Generates (once, cached in benchmarks/data/hash-jpegs/) noisy procedural JPEGs of 2-12
megapixels and 1-5 MB, like phone and camera photos. The anchor, measured in the same run on
the same files, is what a unit does without Vigil: ``hashdeep -c md5,sha1,sha256 -r`` for the
digests plus a naive PDQ pass (full Pillow decode, then pdqhash). The candidate is
``vigil hash DIR --jobs 2`` as a user runs it (a subprocess, start-up included). Goal: at
least 3x the anchor's throughput on 2 cores. Before timing, the candidate's output is
checked against the anchor's: same SHA-256 for every file, PDQ within a few bits.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageDraw

from benchmarks.common import Timing, measure, report

DATA_DIR = Path(__file__).parent / "data" / "hash-jpegs"
MIN_BYTES, MAX_BYTES = 1_000_000, 5_000_000
MIN_MEGAPIXELS, MAX_MEGAPIXELS = 2.0, 12.0
ASPECTS = (4 / 3, 3 / 2, 16 / 9)
# Largest PDQ difference between the drafted decode and the full one we accept as "same".
MAX_DRAFT_DISTANCE_BITS = 16


def photo_like_jpeg(index: int) -> bytes:
    """One noisy camera-like JPEG: gradients, shapes, strong per-pixel sensor-like noise."""
    rng = np.random.default_rng(index)
    megapixels = rng.uniform(MIN_MEGAPIXELS, MAX_MEGAPIXELS)
    aspect = ASPECTS[index % len(ASPECTS)]
    width = int((megapixels * 1e6 * aspect) ** 0.5)
    height = int(megapixels * 1e6 / width)
    if index % 4 == 3:  # some portrait shots
        width, height = height, width
    # Smaller pictures get more noise so every file lands between 1 and 5 MB.
    noise_sigma = float(np.interp(megapixels, [2, 12], [26, 9]) * rng.uniform(0.9, 1.1))
    quality = int(rng.integers(90, 96))
    small = Image.new("RGB", (64, 48), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(small)
    for _ in range(12):
        x, y = rng.integers(0, 64), rng.integers(0, 48)
        box = (x, y, x + rng.integers(4, 30), y + rng.integers(4, 24))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    base = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    noise = rng.standard_normal((height, width, 3), dtype=np.float32) * noise_sigma
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    for attempt in range(4):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=quality - 3 * attempt)
        if buffer.tell() <= MAX_BYTES:
            break
    return buffer.getvalue()


def _write_one(args: tuple[Path, int]) -> int:
    folder, index = args
    path = folder / f"photo-{index:05d}.jpg"
    if not path.exists():
        data = photo_like_jpeg(index)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.rename(path)
    return path.stat().st_size


def ensure_photos(folder: Path, count: int, jobs: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        sizes = list(pool.map(_write_one, [(folder, i) for i in range(count)]))
    print(
        f"data: {count} JPEGs in {folder}, {sum(sizes) / 1e6:,.0f} MB, "
        f"{min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB each",
        flush=True,
    )
    return [folder / f"photo-{i:05d}.jpg" for i in range(count)]


def naive_pdq(path: Path) -> str:
    """The anchor's PDQ: decode the whole picture, then hash it."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    bits, _quality = pdqhash.compute(pixels)
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def run_hashdeep(folder: Path) -> str:
    return subprocess.run(
        ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def run_vigil(folder: Path, jobs: int) -> str:
    return subprocess.run(
        [sys.executable, "-m", "vigil", "hash", str(folder), "--jobs", str(jobs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def check_same_results(folder: Path, files: list[Path], jobs: int) -> None:
    """The speed only counts if the answers agree with the anchor's."""
    lines = [json.loads(line) for line in run_vigil(folder, jobs).splitlines()]
    ours = {Path(line["path"]).name: line for line in lines}
    rows = [row for row in run_hashdeep(folder).splitlines() if not row.startswith(("%", "#"))]
    # hashdeep columns: size, md5, sha1, sha256, filename
    theirs = {Path(row[4]).name: tuple(row[1:4]) for row in csv.reader(rows)}
    assert len(ours) == len(files) == len(theirs), (len(ours), len(files), len(theirs))
    for name, digests in theirs.items():
        assert (ours[name]["md5"], ours[name]["sha1"], ours[name]["sha256"]) == digests, name
    sample = files[:: max(1, len(files) // 20)]
    distances = [(int(ours[p.name]["pdq"], 16) ^ int(naive_pdq(p), 16)).bit_count() for p in sample]
    assert max(distances) <= MAX_DRAFT_DISTANCE_BITS, distances
    print(
        f"check: MD5, SHA-1, SHA-256 equal to hashdeep's for all {len(files)} files; "
        f"drafted PDQ vs full decode on {len(sample)} files: max {max(distances)} bits, "
        f"mean {sum(distances) / len(distances):.1f} bits",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2, help="vigil hash --jobs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    if shutil.which("hashdeep") is None:
        sys.exit(
            "hashdeep (the anchor) is not installed: apt-get install hashdeep "
            "(Debian/Ubuntu), brew install hashdeep (macOS)"
        )
    files = ensure_photos(args.data, args.files, args.jobs)
    # Only the selected files, in a folder of their own, so both tools see the same set.
    folder = args.data.parent / f"hash-jpegs-{args.files}"
    if not folder.is_dir() or len(list(folder.iterdir())) != len(files):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path in files:
            os.link(path, folder / path.name)
    files = sorted(folder.iterdir())
    check_same_results(folder, files, args.jobs)  # also warms the page cache for both

    def hashdeep_once() -> None:
        run_hashdeep(folder)

    def naive_pdq_once() -> None:
        for path in files:
            naive_pdq(path)

    print(f"timing the anchor ({args.repeats} runs of each part)...", flush=True)
    hashdeep = measure(
        "hashdeep", hashdeep_once, units=len(files), unit_name="files", repeats=args.repeats
    )
    naive = measure(
        "naive PDQ", naive_pdq_once, units=len(files), unit_name="files", repeats=args.repeats
    )
    anchor = Timing(
        f"hashdeep -c md5,sha1,sha256 -r ({hashdeep.rate:,.1f} files/s) + naive PDQ, "
        f"full Pillow decode, 1 process ({naive.rate:,.1f} files/s)",
        [a + b for a, b in zip(hashdeep.seconds, naive.seconds, strict=True)],
        len(files),
        "files",
    )
    print(f"timing the candidate ({args.repeats} runs)...", flush=True)
    candidate = measure(
        f"vigil hash --jobs {args.jobs}",
        lambda: run_vigil(folder, args.jobs),
        units=len(files),
        unit_name="files",
        repeats=args.repeats,
    )
    report(f"Hashing: vigil hash over {len(files)} camera-like JPEGs", candidate, anchor)


if __name__ == "__main__":
    main()
