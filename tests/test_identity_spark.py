"""`vigil resolve --engine spark`: the same subjects as the DuckDB engine on the same data.

One synthetic small operation is ingested once and resolved in full by each engine, Spark
running as ``local[1]`` (one core, in this process's JVM). Spark needs pyspark (the
``spark`` extra, installed by ``make``) and a Java runtime (``.ci/run`` installs one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.synth_cache import synth_operation
from vigil.identity.spark import check_master, half_this_machine
from vigil.store.db import Store
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import list_subjects
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest_listed


def _subjects(store: Store) -> dict[frozenset[str], tuple[int, tuple[float, ...]]]:
    out = {}
    for subject in list_subjects(store):
        accounts = frozenset(f"{a['platform']}:{a['username']}" for a in subject["accounts"])
        probabilities = tuple(sorted(round(link["probability"], 6) for link in subject["links"]))
        out[accounts] = (subject["id"], probabilities)
    return out


@pytest.mark.slow
def test_spark_and_duckdb_give_the_same_subjects(tmp_path: Path) -> None:
    operation = synth_operation(1, "small")
    truth = json.loads((operation / "truth.json").read_text())
    os.environ.setdefault("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    init_store(store, "TEST")
    actor = admin_actor(store)
    open_case(store, actor, "OP")
    ingest_listed(store, actor, operation, truth["sources"], "OP")
    on_duckdb = resolve(store, actor, full=True)
    by_duckdb = _subjects(store)
    on_spark = resolve(store, actor, full=True, engine="spark", spark_master="local[1]")
    by_spark = _subjects(store)
    store.dispose()
    assert on_spark.engine == "spark" and on_duckdb.engine == "duckdb"
    assert on_spark.compared_pairs == on_duckdb.compared_pairs > 100
    assert on_spark.links == on_duckdb.links > 50
    assert on_spark.created == on_spark.retired == 0  # every subject kept its id
    assert by_spark == by_duckdb
    assert sum(len(accounts) > 1 for accounts in by_spark) > 20


def test_engine_and_master_are_checked_before_anything_runs(sqlite_store: Store) -> None:
    bad = run_cli("resolve", "--engine", "oracle")
    assert bad.exit_code == 2 and "unknown engine 'oracle'" in bad.stderr
    lonely = run_cli("resolve", "--spark-master", "local[2]")
    assert lonely.exit_code == 2 and "--spark-master needs --engine spark" in lonely.stderr
    for master in ("nonsense://x", "local[two]", "spark://", "yarn cluster"):
        wrong = run_cli("resolve", "--engine", "spark", "--spark-master", master)
        assert wrong.exit_code == 2 and "is not a Spark master URL" in wrong.stderr, master
    for master in ("local", "local[*]", "local[2]", "local[4,2]", "spark://a.lan:7077,b:7077"):
        check_master(master)  # accepted
    check_master("yarn")
    check_master("k8s://https://k8s.unit.lan:443")


PROBE_HEAP = """
from vigil.identity.spark import spark_session
session = spark_session("local[1]")
print(session.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory())
session.stop()
"""


@pytest.mark.slow
def test_a_local_driver_gets_half_the_machine() -> None:
    """Spark's own 1 GiB default heap ran out at a million accounts (docs/benchmarks.md).

    In a process of its own: pyspark keeps one JVM per process, and this test must start one
    with no ``SPARK_DRIVER_MEMORY`` of the user's."""
    environment = {k: v for k, v in os.environ.items() if k != "SPARK_DRIVER_MEMORY"}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE_HEAP],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    heap = int(probe.stdout.split()[-1])
    half = int(str(half_this_machine()).removesuffix("m")) * 2**20
    assert 0.8 * half <= heap <= 1.01 * half  # the JVM rounds the heap to its regions


def test_a_container_limit_below_the_machine_sizes_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a container the machine's memory is the host's; the container's limit is what a
    heap must fit in, or the container is killed instead of Spark spilling to disk."""
    import vigil.machine

    limit = tmp_path / "memory.max"
    limit.write_text(f"{4 * 2**30}\n")
    monkeypatch.setattr(vigil.machine, "_CGROUP_LIMITS", (str(limit),))
    assert half_this_machine() == "2048m"
    limit.write_text("max\n")  # cgroup v2's "no limit"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert half_this_machine() == f"{total // 2 // 2**20}m"
