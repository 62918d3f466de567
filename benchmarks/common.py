"""What every benchmark shares: medians of repeated runs and a ratio against an anchor.

A benchmark never prints a bare time. It measures an anchor (a reference tool or a naive
pipeline) on the same data in the same run, and prints both and their ratio.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]
    units: float  # work done per run: files, queries, reports...
    unit_name: str

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.units / self.median_seconds if self.median_seconds else float("inf")


def measure(
    label: str,
    run: Callable[[], Any],
    *,
    units: float,
    unit_name: str,
    repeats: int = 3,
    setup: Callable[[], Any] | None = None,
) -> Timing:
    seconds = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return Timing(label, seconds, units, unit_name)


def report(title: str, candidate: Timing, anchor: Timing) -> str:
    ratio = candidate.rate / anchor.rate if anchor.rate else float("inf")
    lines = [
        f"## {title}",
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        f"anchor    {anchor.label}: {anchor.rate:,.1f} {anchor.unit_name}/s "
        f"(median of {len(anchor.seconds)}: {anchor.median_seconds:.2f} s)",
        f"candidate {candidate.label}: {candidate.rate:,.1f} {candidate.unit_name}/s "
        f"(median of {len(candidate.seconds)}: {candidate.median_seconds:.2f} s)",
        f"ratio     {ratio:.2f}x the anchor",
    ]
    text = "\n".join(lines)
    print(text, flush=True)
    return text
