"""Working the job queue: the loop inside `vigil serve` (SQLite) and `vigil worker`.

One job at a time per runner. While a job runs, a heartbeat thread renews its lease and
stores its latest progress; if this process dies, the lease lapses and another runner (or
this server, restarted) claims the job again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from datetime import timedelta
from typing import Any

from vigil.errors import VigilError
from vigil.processes import not_forking
from vigil.store.db import Store
from vigil.workflows.media.triage import TriageProbes
from vigil.workflows.operation import jobs
from vigil.workflows.operation.job_kinds import run_job

log = logging.getLogger("vigil.jobs")


class JobRunner:
    def __init__(
        self,
        store: Store,
        *,
        lease: timedelta = timedelta(seconds=30),
        poll_seconds: float = 2.0,
        probes: TriageProbes | None = None,
        hashing_processes: int = 1,
        name: str | None = None,
    ):
        self.store = store
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.probes = probes
        self.hashing_processes = hashing_processes  # for a triage job that names none
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.wake = threading.Event()
        self.finished = threading.Condition()  # notified each time a job of ours ends
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_one(self) -> bool:
        """Claim and run one job; False when there was none to claim."""
        claimed = jobs.claim(self.store, self.name, self.lease)
        if claimed is None:
            return False
        job, actor = claimed.job, claimed.actor
        progress: dict[str, Any] = {}
        done = threading.Event()

        def report(update: dict[str, Any]) -> None:
            progress.clear()
            progress.update(update)

        def heartbeat() -> None:
            interval = max(self.lease.total_seconds() / 3, 0.2)
            while not done.wait(interval):
                jobs.renew(self.store, job.id, self.name, self.lease, dict(progress))

        beating = threading.Thread(target=heartbeat, name=f"job-{job.id}-lease", daemon=True)
        beating.start()
        try:
            with not_forking():  # the heartbeat thread runs beside the job
                result = run_job(
                    self.store,
                    actor,
                    job.kind,
                    job.arguments,
                    report,
                    self.probes,
                    self.hashing_processes,
                )
            result = json.loads(json.dumps(result, default=str))
            jobs.finish(self.store, actor, job.id, self.name, result=result, progress=progress)
        except VigilError as exc:
            jobs.finish(self.store, actor, job.id, self.name, error=" ".join(str(exc).split()))
        except Exception as exc:  # a bug: keep the server up, log the trace, fail the job
            log.exception("job %s (%s) failed", job.id, job.kind)
            jobs.finish(
                self.store, actor, job.id, self.name, error=f"internal error ({type(exc).__name__})"
            )
        finally:
            done.set()
            beating.join()
            with self.finished:
                self.finished.notify_all()
        return True

    def run_until_idle(self) -> int:
        ran = 0
        while not self.stopping.is_set() and self.run_one():
            ran += 1
        return ran

    def loop(self) -> None:
        while not self.stopping.is_set():
            self.run_until_idle()
            self.wake.wait(self.poll_seconds)
            self.wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="vigil-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
