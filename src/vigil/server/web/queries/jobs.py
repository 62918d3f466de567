"""Jobs for the pages: what is queued or running (live progress comes from /api/jobs/{id})."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.store.db import Actor
from vigil.store.models import Job, User

SHOWN = 20


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    state: str
    username: str
    percent: int | None
    error: str | None


def _row(job: Job, username: str) -> JobRow:
    progress = job.progress or {}
    total, done = progress.get("of"), progress.get("documents")
    percent = None
    if isinstance(total, int) and isinstance(done, int) and total > 0:
        percent = round(100 * done / total)
    if job.state == "done":
        percent = 100
    return JobRow(job.id, job.kind, job.state, username, percent, job.error)


def running_jobs(session: Session, actor: Actor) -> list[JobRow]:
    rows = session.execute(
        select(Job, User.username)
        .join(User, User.id == Job.user_id)
        .where(Job.agency_id == actor.agency_id, Job.state.in_(("queued", "running")))
        .order_by(Job.id.desc())
        .limit(SHOWN)
    ).all()
    return [_row(job, username) for job, username in rows]


def case_jobs(session: Session, actor: Actor, case_id: int) -> list[JobRow]:
    rows = session.execute(
        select(Job, User.username)
        .join(User, User.id == Job.user_id)
        .where(Job.agency_id == actor.agency_id, Job.case_id == case_id)
        .order_by(Job.id.desc())
        .limit(SHOWN)
    ).all()
    return [_row(job, username) for job, username in rows]
