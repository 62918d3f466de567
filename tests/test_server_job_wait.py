"""`GET /api/jobs/{id}?wait=SECONDS` (docs/server.md): a script follows a job with one request.
It answers at once for a finished job, when the job finishes for a running one, and after the
seconds have passed for one nobody runs; out-of-range waits are refused."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_support import Unit, served_unit
from vigil.store.db import Store

LONG_WAIT = 30.0
RUNNER_DELAY = 0.5


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def test_a_job_nobody_runs_is_answered_when_the_wait_is_over(unit: Unit) -> None:
    client, auth = unit.client(), unit.bearer("TEST", "investigator")
    job_id = unit.objects["TEST"].job_id  # a resolve job, queued, and no runner started
    started = time.monotonic()
    answer = client.get(f"/api/jobs/{job_id}", params={"wait": 0.6}, headers=auth)
    assert answer.status_code == 200 and answer.json()["state"] == "queued"
    assert time.monotonic() - started >= 0.6
    for wrong in (-1, 61, "soon"):
        refused = client.get(f"/api/jobs/{job_id}", params={"wait": wrong}, headers=auth)
        assert refused.status_code == 422, wrong


def test_the_wait_ends_when_the_job_does(unit: Unit) -> None:
    client, auth = unit.client(), unit.bearer("TEST", "investigator")
    job_id = unit.objects["TEST"].job_id
    runner = unit.app.state.job_runner
    # The job starts only after the request is in: an answer of "done" is the long poll's.
    worker = threading.Timer(RUNNER_DELAY, runner.run_until_idle)
    started = time.monotonic()
    worker.start()
    try:
        answer = client.get(f"/api/jobs/{job_id}", params={"wait": LONG_WAIT}, headers=auth)
        waited = time.monotonic() - started
    finally:
        worker.join()
    assert answer.json()["state"] == "done" and answer.json()["result"] is not None
    assert RUNNER_DELAY <= waited < LONG_WAIT
    # Finished: answered at once, whatever the wait; another agency's job is not found.
    started = time.monotonic()
    again = client.get(f"/api/jobs/{job_id}", params={"wait": LONG_WAIT}, headers=auth)
    assert again.json()["state"] == "done" and time.monotonic() - started < LONG_WAIT
    other = client.get(
        f"/api/jobs/{job_id}", params={"wait": 1}, headers=unit.bearer("OTHER", "investigator")
    )
    assert other.status_code == 404


def test_a_long_poll_whose_client_went_away_stops_reading_the_job(
    unit: Unit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that gives up (a timeout, Ctrl-C) closes its connection: the server stops
    polling the job's row for it within a poll, not when the wait it asked for is over."""
    from vigil.peer_api.serving import NodeServer
    from vigil.server.api import jobs as jobs_api

    reads: list[float] = []
    first_read, answered = threading.Event(), threading.Event()
    job_status = jobs_api.jobs.job_status

    def counted(*args: object) -> object:
        reads.append(time.monotonic())
        first_read.set()
        return job_status(*args)  # type: ignore[arg-type]

    class Answering:
        @staticmethod
        def asdict(value: object) -> object:
            answered.set()
            return dataclasses.asdict(value)  # type: ignore[call-overload]

    monkeypatch.setattr(jobs_api.jobs, "job_status", counted)
    monkeypatch.setattr(jobs_api, "dataclasses", Answering)
    job_id = unit.objects["TEST"].job_id  # queued, and no runner: it never finishes
    token = unit.tokens[("TEST", "investigator")]
    with NodeServer(unit.app).start() as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(
                f"GET /api/jobs/{job_id}?wait={LONG_WAIT} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            assert first_read.wait(LONG_WAIT)
        assert answered.wait(LONG_WAIT / 3)  # well before the 30 s asked for
    assert len(reads) <= 3 and reads[-1] - reads[0] < LONG_WAIT / 3
