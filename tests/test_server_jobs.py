"""Durable jobs: a real server SIGKILLed in the middle of a triage job, restarted, finishing
with the same counts and rows as an uninterrupted run; two workers on PostgreSQL never run
the same job; a job's triage hashes with the runner's processes; uploads over the limit
refused; evidence paths that escape the root refused."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select as sql_select
from starlette.types import Message

from tests.actors import admin_actor
from tests.server_support import PASSWORD, Unit, add_test_user, free_port, served_unit
from tests.test_triage import build_device
from tests.test_triage_resume import fresh_store, instance_ids, logged, rows
from vigil.hashing import pool as hashing_pool
from vigil.processes import process_pool, start_method
from vigil.server.uploads import FORM_OVERHEAD_BYTES
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Job
from vigil.workflows.media.triage import triage
from vigil.workflows.operation.job_runner import JobRunner
from vigil.workflows.operation.jobs import enqueue

READY_TIMEOUT_SECONDS = 180


@contextmanager
def served(
    url: str,
    evidence_root: Path,
    tmp_path: Path,
    env: dict[str, str],
    pass_fds: tuple[int, ...] = (),
) -> Iterator[tuple[subprocess.Popen[str], httpx.Client]]:
    """`vigil serve` as a real process; its banner comes once it is listening."""
    port = free_port()
    command = [
        sys.executable, "-m", "vigil", "--db", url, "serve", "--port", str(port),
        "--evidence-root", str(evidence_root), "--upload-dir", str(tmp_path / "uploads"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env={**os.environ, **env}, pass_fds=pass_fds, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        assert "serving" in process.stderr.readline()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=90) as client:
            login = client.post(
                "/api/auth/login",
                json={"agency": "TEST", "username": "ines", "password": PASSWORD},
            )
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            yield process, client
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        if process.stderr:
            process.stderr.close()


@pytest.mark.slow
def test_kill_the_server_mid_triage_then_restart_and_resume(tmp_path: Path) -> None:
    device = build_device(tmp_path)
    killed = fresh_store(f"sqlite:///{tmp_path / 'killed.db'}", device)
    clean = fresh_store(f"sqlite:///{tmp_path / 'clean.db'}", device)
    add_test_user(killed, "TEST", "ines", "investigator")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    read_end, write_end = os.pipe()
    probes = {
        "VIGIL_TRIAGE_READY_FD": str(write_end),
        "VIGIL_TRIAGE_PAUSE": "after-commit:2",
        "VIGIL_TRIAGE_HASH_LOG": str(first_log),
    }
    request = {"path": device.root.name, "batch_files": 4}
    try:
        with served(killed.url, device.root.parent, tmp_path, probes, (write_end,)) as (
            server,
            client,
        ):
            os.close(write_end)
            queued = client.post("/api/cases/CASE-1/triage", json=request)
            assert queued.status_code == 202, queued.text
            job_id = queued.json()["id"]
            readable, _, _ = select.select([read_end], [], [], READY_TIMEOUT_SECONDS)
            assert readable and os.read(read_end, 64) == b"ready\n"
            os.kill(server.pid, signal.SIGKILL)
            assert server.wait() == -signal.SIGKILL
    finally:
        os.close(read_end)
    committed = instance_ids(killed)
    assert len(committed) == 8
    with killed.reading() as session:
        assert session.get(Job, job_id).state == "running"  # type: ignore[union-attr]

    with served(
        killed.url, device.root.parent, tmp_path, {"VIGIL_TRIAGE_HASH_LOG": str(second_log)}
    ) as (_server, client):
        job = client.get(f"/api/jobs/{job_id}", params={"wait": 60}).json()
        while job["state"] in ("queued", "running"):
            job = client.get(f"/api/jobs/{job_id}", params={"wait": 60}).json()
    assert job["state"] == "done", job["error"]
    assert job["attempts"] == 2 and job["result"]["resumed"] is True
    assert job["result"]["skipped_files"] == len(committed)

    uninterrupted = triage(clean, admin_actor(clean), device.root, "CASE-1", jobs=1, batch_files=4)
    expected = uninterrupted.summary.as_dict()
    got = {key: job["result"][key] for key in expected}
    got.pop("seconds"), expected.pop("seconds")
    assert got == expected and got["files"] == len(device.files)
    assert rows(killed) == rows(clean)
    assert set(logged(second_log)).isdisjoint(committed)
    assert set(logged(first_log)) | set(logged(second_log)) == set(device.files)
    after = instance_ids(killed)
    assert {path: after[path] for path in committed} == committed
    killed.dispose()
    clean.dispose()


def test_a_triage_job_hashes_with_the_runners_processes_started_from_a_fork_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's job thread runs a triage with the processes it was given (`vigil serve
    --hashing-processes`; `vigil worker` defaults to one per CPU), started from a fork server
    since that thread is not the main one (``vigil.processes``), and writes what a triage in
    one process writes."""
    device = build_device(tmp_path)
    store = fresh_store(f"sqlite:///{tmp_path / 'job.db'}", device)
    alone = fresh_store(f"sqlite:///{tmp_path / 'alone.db'}", device)
    started: list[tuple[int, str]] = []

    def recorded(workers: int) -> ProcessPoolExecutor:
        started.append((workers, start_method()))
        return process_pool(workers)

    monkeypatch.setattr(hashing_pool, "process_pool", recorded)
    job = enqueue(store, admin_actor(store), "triage", {"path": str(device.root), "case": "CASE-1"})
    runner = JobRunner(store, hashing_processes=2)
    with runner.finished:
        runner.start()
        runner.finished.wait_for(lambda: _state(store, job.id) in ("done", "failed"), timeout=120)
    runner.stop()
    with store.reading() as session:
        done = session.get_one(Job, job.id)
    assert done.state == "done", done.error
    assert started and started[0] == (2, "forkserver")
    triage(alone, admin_actor(alone), device.root, "CASE-1", jobs=1)
    assert rows(store) == rows(alone)
    store.dispose()
    alone.dispose()


def _state(store: Store, job_id: int) -> str:
    with store.reading() as session:
        return session.get_one(Job, job_id).state


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_run_the_same_job(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.workflows.operation.setup import init_store

    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(pg_url)
    init_store(store, "TEST", "Test Unit", "CA")
    actor = admin_actor(store)
    count = 12
    for number in range(count):
        listing = tmp_path / f"set{number}.txt"
        listing.write_text(f"{number:032x}\n")
        enqueue(
            store, actor, "hashset", {"format": "list", "path": str(listing), "name": f"s{number}"}
        )
    command = [sys.executable, "-m", "vigil", "--db", pg_url, "worker", "--exit-when-idle"]
    workers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    ran = [int(o.split("ran ")[1].split(" job")[0]) for o in outputs]
    assert sum(ran) == count
    with store.reading() as session:
        jobs = session.scalars(sql_select(Job)).all()
        starts = session.scalars(
            sql_select(AuditEntry.object_id).where(AuditEntry.action == "job.start")
        ).all()
    assert [j.state for j in jobs] == ["done"] * count
    assert [j.attempts for j in jobs] == [1] * count
    assert sorted(starts) == sorted(str(j.id) for j in jobs)  # each started exactly once
    assert sorted(j.result["name"] for j in jobs) == sorted(f"s{n}" for n in range(count))  # type: ignore[index]
    store.dispose()


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0, upload_limit_bytes=1000)


def test_an_upload_over_the_limit_is_refused_with_413_and_leaves_nothing(unit: Unit) -> None:
    client = unit.client()
    headers = unit.bearer("TEST", "investigator")
    url = "/api/cases/TEST-CASE/sources"
    params = {"format": "chat-jsonl", "name": "big.jsonl"}
    declared = client.post(url, params=params, content=b"x" * 1001, headers=headers)
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(5):
            yield b"y" * 300

    streamed = client.post(url, params=params, content=chunks(), headers=headers)
    assert streamed.status_code == 413
    uploads = unit.app.state.settings.upload_dir
    assert not uploads.exists() or list(uploads.rglob("*.jsonl")) == []
    small = client.post(url, params=params, content=b'{"x": 1}\n', headers=headers)
    assert small.status_code == 202
    assert [p.name for p in uploads.rglob("*.jsonl")] == ["big.jsonl"]


def test_a_page_upload_over_the_limit_is_refused_with_413_as_it_streams(unit: Unit) -> None:
    """The case page's upload form (multipart) is counted as it is read: past the limit the
    page answers 413 and reads no further, with or without a declared length."""
    client = unit.signed_in("TEST", "investigator")
    csrf = client.cookies["vigil_csrf"]
    url = "/cases/TEST-CASE/sources"
    form = {"format": "chat-jsonl", "csrf_token": csrf}
    declared = client.post(url, data=form, files={"file": ("big.jsonl", b"x" * 200_000)})
    assert declared.status_code == 413
    assert "over the limit of 1,000" in declared.text

    boundary = "vigilboundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in form.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    chunks = [head.encode()] + [b"y" * 4096] * 1000  # 4 MB, far past limit and overhead
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        if pulled <= len(chunks):
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}
        return {"type": "http.request", "body": f"\r\n--{boundary}--\r\n".encode()}

    async def send(message: Message) -> None:
        sent.append(message)

    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"transfer-encoding", b"chunked"),
            (b"cookie", cookies.encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    # A thread of its own: a browser test in this worker may hold the thread's event loop.
    caller = threading.Thread(target=lambda: asyncio.run(unit.app(scope, receive, send)))
    caller.start()
    caller.join()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    limit_chunks = (1000 + FORM_OVERHEAD_BYTES) // 4096 + 2
    assert pulled <= limit_chunks < len(chunks)  # stopped at the limit, not at the end
    uploads = unit.app.state.settings.upload_dir
    assert not uploads.exists() or list(uploads.rglob("*.jsonl")) == []


@pytest.mark.parametrize("path", ["../outside", "/etc", "device/../../outside", "missing"])
def test_triage_paths_outside_the_evidence_root_are_refused(unit: Unit, path: str) -> None:
    outside = unit.app.state.settings.evidence_root.parent / "outside"
    outside.mkdir(exist_ok=True)
    response = unit.client().post(
        "/api/cases/TEST-CASE/triage",
        json={"path": path},
        headers=unit.bearer("TEST", "investigator"),
    )
    assert response.status_code == 400
    assert "evidence root" in response.json()["detail"]
    with unit.store.reading() as session:
        assert session.scalars(sql_select(Job).where(Job.kind == "triage")).all() == []


def test_a_symlink_out_of_the_evidence_root_is_refused(unit: Unit) -> None:
    root = unit.app.state.settings.evidence_root
    (root / "escape").symlink_to(root.parent)
    response = unit.client().post(
        "/api/cases/TEST-CASE/triage",
        json={"path": "escape"},
        headers=unit.bearer("TEST", "investigator"),
    )
    assert response.status_code == 400 and "outside" in response.json()["detail"]


def test_a_failing_job_records_its_error_and_the_server_stays_up(unit: Unit) -> None:
    client = unit.client()
    headers = unit.bearer("TEST", "investigator")
    queued = client.post(
        "/api/hashsets",
        params={"format": "vics", "name": "broken"},
        content=b"this is not JSON",
        headers=headers,
    )
    assert queued.status_code == 202
    unit.app.state.job_runner.run_until_idle()
    job = client.get(f"/api/jobs/{queued.json()['id']}", headers=headers).json()
    assert job["state"] == "failed" and job["error"] and "Traceback" not in job["error"]
    assert json.loads(json.dumps(job))["result"] is None
