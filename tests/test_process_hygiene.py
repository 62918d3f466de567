"""Processes and outputs (docs/reliability.md): one writer per exhibit on both stores,
workers that die with their parent, output paths checked before the work, a decoded-image
memory budget per worker, and error messages of exactly one line."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from tests.cli_runner import run_cli
from tests.conftest import fresh_pg_schema
from tests.triage_support import jpeg, paused_triage, picture
from vigil.errors import Busy
from vigil.processes import not_forking, start_method
from vigil.store.db import Store
from vigil.store.locks import exclusive
from vigil.store.models import FileInstance


def _device(root: Path, count: int = 6) -> Path:
    root.mkdir()
    for seed in range(count):
        (root / f"p{seed}.jpg").write_bytes(jpeg(300 + seed))
    return root


def _paused(db_url: str, root: Path, *extra: str) -> contextlib.AbstractContextManager:
    command = [sys.executable, "-m", "vigil", "--db", db_url, "triage", str(root)]
    command += ["--case", "CASE-1", "--batch-files", "2", *extra]
    return paused_triage(command, dict(os.environ), "after-commit:1")


def test_a_second_triage_of_the_same_exhibit_is_told_it_is_busy(store, tmp_path):
    """On both stores: an fcntl lock beside a SQLite file, an advisory lock on PostgreSQL."""
    root = _device(tmp_path / "dev")
    with _paused(str(store.url), root, "--jobs", "1"):
        second = run_cli("triage", str(root), "--case", "CASE-1", "--jobs", "1")

        assert second.exit_code == 2, second.stderr
        assert "being ingested by another process" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    resumed = run_cli("triage", str(root), "--case", "CASE-1", "--jobs", "1")
    assert resumed.exit_code == 0, resumed.stderr
    with store.reading() as session:
        assert session.scalar(sql_select(func.count()).select_from(FileInstance)) == 6


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _exited(pid: int, timeout_seconds: float) -> bool:
    """Wait for a process that is not our child: its pidfd turns readable when it ends."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], timeout_seconds)
        return bool(readable)
    finally:
        os.close(handle)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_jobs_workers_die_with_their_killed_parent(sqlite_store, tmp_path):
    root = _device(tmp_path / "dev", count=70)
    url = str(sqlite_store.url)
    with _paused(url, root, "--jobs", "2") as process:
        workers = _children(process.pid)
        assert len(workers) >= 2
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert all(_exited(pid, 60) for pid in workers)


# A process that starts a pool the way a job does (not on its main thread, so from the fork
# server), prints its worker's pid, and waits to be killed.
_POOL_OFF_THE_MAIN_THREAD = """
import os, threading
from vigil.processes import process_pool

def start():
    pool = process_pool(1)
    print(pool.submit(os.getpid).result(), flush=True)
    threading.Event().wait()

if __name__ == "__main__":
    starter = threading.Thread(target=start)
    starter.start()
    starter.join()
"""


def test_fork_server_workers_die_with_the_process_that_started_them(tmp_path):
    """A fork server outlives a killed server (each worker holds the pipe it watches), so
    its workers watch the pool's owner themselves (``vigil.processes.die_with_parent``)."""
    script = tmp_path / "pool_off_the_main_thread.py"
    script.write_text(_POOL_OFF_THE_MAIN_THREAD)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        worker = int(process.stdout.readline())
        assert worker not in _children(process.pid)  # the fork server's child, not ours
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert _exited(worker, 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_job_never_forks_its_workers():
    """Every job has a heartbeat thread beside it, so even on the main thread (`vigil
    worker`) its pools come from the fork server; a command outside a job forks."""
    assert start_method() == "fork"
    with not_forking():
        assert start_method() == "forkserver"
    assert start_method() == "fork"


def test_a_bad_summary_path_fails_before_anything_is_triaged(sqlite_store, tmp_path):
    root = _device(tmp_path / "dev", count=2)
    result = run_cli(
        "triage", str(root), "--case", "CASE-1", "--summary-json", str(tmp_path / "no" / "s.json")
    )
    assert result.exit_code == 2 and "no such folder" in result.stderr
    with sqlite_store.reading() as session:
        assert session.scalar(sql_select(func.count()).select_from(FileInstance)) == 0


def test_piped_stderr_has_one_line_and_no_leading_blank(sqlite_store, tmp_path):
    (tmp_path / "c.jsonl").write_text('{"platform": "p", "sender": "a", "ts": "2006-01-01Z"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "--db", str(sqlite_store.url), "ingest", "chat-jsonl",
         str(tmp_path / "c.jsonl"), "--case", "NO-SUCH-CASE"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("vigil: error: ") and result.stderr.count("\n") == 1


def test_a_postgresql_error_is_one_line_without_its_hint(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("--db", f"postgresql://nobody@127.0.0.1:{port}/none", "case", "open", "X")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "Is the server running" not in result.stderr and "sqlalche.me" not in result.stderr


def test_a_huge_png_stays_within_the_per_worker_memory_budget(tmp_path):
    """9000x9000 under the bomb limit took 2.9 GB in one worker; this 7000x7000 one 1.7 GB."""
    from PIL import Image

    path = tmp_path / "huge.png"
    picture(8, size=(320, 240)).resize((7000, 7000), Image.NEAREST).save(path, compress_level=1)
    # VmHWM is the peak of this process's own memory map; ru_maxrss would carry over the peak
    # of the pytest worker that spawned it (Linux keeps it across exec).
    probe = (
        "import sys; from pathlib import Path; from vigil.hashing import hash_file; "
        "h = hash_file(Path(sys.argv[1])); assert h.pdq and h.error is None; "
        "print(next(int(line.split()[1]) for line in open('/proc/self/status') "
        "if line.startswith('VmHWM:')) // 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) < 1100  # MiB; without the budget 1.7 GB, with it 0.35-0.75 GB


@pytest.mark.postgres
def test_two_stores_in_one_postgresql_database_do_not_hold_each_other_up(pg_url):
    """Advisory locks are per database: source 1 of one schema is not source 1 of another."""
    with fresh_pg_schema() as other_url:
        here, there, again = Store(pg_url), Store(other_url), Store(pg_url)
        with exclusive(here, "source:1", "device"):
            with exclusive(there, "source:1", "device"):
                pass  # would be Busy if the two stores shared the lock
            busy = pytest.raises(Busy, match="being ingested by another process")
            with busy, exclusive(again, "source:1", "device"):
                pass
        for store in (here, there, again):
            store.dispose()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_a_worker_reuses_the_memory_it_frees() -> None:
    """glibc hands large freed blocks back to the kernel, so each file faults every page of
    its buffers in again (docs/reliability.md); a pool worker keeps them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tests.memory_probe import page_faults_per_file
    from vigil.processes import process_pool, start_worker

    with process_pool(1) as pool:
        assert pool._initializer is start_worker  # type: ignore[attr-defined]
    # Both from fresh interpreters: a forked worker inherits the allocator state of this
    # process, whose earlier tests may have raised glibc's thresholds already.
    fresh = multiprocessing.get_context("spawn")
    tuned = ProcessPoolExecutor(
        1, mp_context=fresh, initializer=start_worker, initargs=(os.getpid(),)
    )
    with tuned:
        worker = tuned.submit(page_faults_per_file).result()
    with ProcessPoolExecutor(1, mp_context=fresh) as plain:
        untuned = plain.submit(page_faults_per_file).result()
    pages_per_round = 8 * (1 << 19) // os.sysconf("SC_PAGE_SIZE")
    assert untuned > pages_per_round / 4  # the allocator's default: pages faulted anew
    assert worker < pages_per_round / 100  # the worker's: the same pages, reused
