"""The durable job queue: long work (triage, ingest, hash-set import, resolve, refer) as rows.

A job is claimed by one worker at a time, holding a lease it renews while it works. Claiming
takes the oldest job that is queued or whose lease has lapsed (its worker died), under
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several ``vigil worker`` processes
never take the same job; on SQLite the ``BEGIN IMMEDIATE`` write lock serialises claims. A
job taken up again after a crash runs its workflow again, and the workflows resume without
duplicating (triage skips what it committed; ingest and hash-set import are idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from vigil.errors import NotFound, UsageError
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Agency, Job, User, utcnow
from vigil.store.models_server import JOB_KINDS
from vigil.workflows.operation.accounts import actor_for

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    state: str
    arguments: dict[str, Any]
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None


def _info(job: Job) -> JobInfo:
    return JobInfo(
        job.id,
        job.kind,
        job.state,
        job.arguments,
        job.progress,
        job.result,
        job.error,
        job.attempts,
        job.created_at.isoformat(),
        job.started_at.isoformat() if job.started_at else None,
        job.finished_at.isoformat() if job.finished_at else None,
    )


def unfinished_job(
    store: Store, actor: Actor, kind: str, arguments: dict[str, Any], states: tuple[str, ...]
) -> JobInfo | None:
    """The agency's job of ``kind`` with these arguments in one of ``states``, if any: the
    same work asked for twice (a double click) is then that job, not a second one."""
    with store.reading() as session:
        found = session.scalars(
            select(Job)
            .where(Job.agency_id == actor.agency_id, Job.kind == kind, Job.state.in_(states))
            .order_by(Job.id)
        )
        for job in found:
            if job.arguments == arguments:
                return _info(job)
    return None


def enqueue(
    store: Store, actor: Actor, kind: str, arguments: dict[str, Any], case_id: int | None = None
) -> JobInfo:
    if kind not in JOB_KINDS:
        raise UsageError(f"no job kind {kind!r}")
    with store.transaction() as session:
        job = Job(
            kind=kind,
            arguments=arguments,
            state="queued",
            user_id=actor.user_id,
            agency_id=actor.agency_id,
            case_id=case_id,
            attempts=0,
        )
        session.add(job)
        session.flush()
        audit.append(session, actor, "job.queue", "job", job.id, {"kind": kind, **arguments})
        return _info(job)


def job_status(store: Store, job_id: int, agency_id: int | None = None) -> JobInfo:
    """One job; with ``agency_id``, only a job started in that agency (else: not found)."""
    with store.reading() as session:
        job = session.get(Job, job_id)
        if job is None or (agency_id is not None and job.agency_id != agency_id):
            raise NotFound(f"no job {job_id}")
        return _info(job)


@dataclass(frozen=True)
class Claimed:
    job: JobInfo
    actor: Actor


def claim(store: Store, worker: str, lease: timedelta) -> Claimed | None:
    """Take the oldest runnable job for ``worker``, or None when there is none."""
    now = utcnow()
    with store.transaction() as session:
        job = session.scalars(
            select(Job)
            .where(
                or_(
                    Job.state == "queued",
                    (Job.state == "running") & (Job.lease_until < now),
                )
            )
            .order_by(Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        job.attempts += 1
        user, agency = session.execute(
            select(User, Agency)
            .join(Agency, Agency.id == User.agency_id)
            .where(User.id == job.user_id)
        ).one()
        if job.attempts > MAX_ATTEMPTS or user.disabled:
            job.state, job.finished_at = "failed", now
            job.error = (
                "its user was disabled" if user.disabled else f"gave up after {MAX_ATTEMPTS} tries"
            )
            return None
        job.state, job.worker, job.lease_until = "running", worker, now + lease
        job.started_at = job.started_at or now
        actor = actor_for(user, agency)
        audit.append(
            session, actor, "job.start", "job", job.id, {"worker": worker, "attempt": job.attempts}
        )
        return Claimed(_info(job), actor)


def renew(
    store: Store, job_id: int, worker: str, lease: timedelta, progress: dict[str, Any]
) -> None:
    """Extend the lease (only while this worker still holds the job) and record progress."""
    with store.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.state == "running")
            .values(lease_until=utcnow() + lease, progress=progress)
        )


def finish(
    store: Store,
    actor: Actor,
    job_id: int,
    worker: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    progress: dict[str, Any] | None = None,
) -> None:
    with store.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.worker != worker or job.state != "running":
            return  # the lease lapsed and another worker has it now
        job.state = "failed" if error else "done"
        job.result, job.error, job.finished_at = result, error, utcnow()
        job.progress = progress or job.progress
        job.lease_until = None
        audit.append(
            session,
            actor,
            "job.fail" if error else "job.done",
            "job",
            job.id,
            {"error": error} if error else {"result": result},
        )


def requeue_running(store: Store) -> int:
    """Put back every running job: for a lone server starting up (SQLite), none is alive."""
    with store.transaction() as session:
        changed = session.execute(
            update(Job).where(Job.state == "running").values(state="queued", lease_until=None)
        )
        return int(changed.rowcount or 0)  # type: ignore[attr-defined]
