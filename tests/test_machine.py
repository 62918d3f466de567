"""What Vigil sizes itself by: the CPUs and memory this process may use (``vigil.machine``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vigil import machine


def test_cores_are_those_the_process_is_pinned_to() -> None:
    pinned = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from vigil.machine import cores_here; print(cores_here())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pinned.stdout.strip() == "1"
    assert machine.cores_here() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("quota", "allowed"),
    [("max 100000", None), ("100000 100000", 1), ("150000 100000", 2), ("50000 100000", 1)],
)
def test_a_container_cpu_quota_lowers_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quota: str, allowed: int | None
) -> None:
    pinned = len(os.sched_getaffinity(0))
    quota_file = tmp_path / "cpu.max"
    quota_file.write_text(f"{quota}\n")
    monkeypatch.setattr(machine, "_CGROUP_CPU_QUOTA", str(quota_file))
    assert machine.cores_here() == (pinned if allowed is None else min(pinned, allowed))
