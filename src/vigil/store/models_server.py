"""The shared server's rows: login sessions, bearer tokens, durable jobs and case sharing.

Sessions and tokens are stored only as SHA-256 digests of the secret the client holds, so a
copy of the database lets nobody sign in. A job row is the whole state of one piece of long
work: a worker that dies leaves it ``running`` with a lapsed lease, and the next worker (or the
restarted server) takes it up again; the workflows it runs resume without duplicating.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vigil.store.models import Base, utcnow

JOB_KINDS = ("triage", "ingest", "hashset", "resolve", "countries", "refer", "deliver")
JOB_STATES = ("queued", "running", "done", "failed")
SHARE_ACCESS = ("read", "contribute")


class LoginSession(Base):
    """A signed-in browser. ``csrf_hash`` binds the token every state-changing request carries."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class ApiToken(Base):
    """A named bearer token for scripts; expires and can be revoked."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Job(Base):
    """Long work started from the server. ``lease_until`` lapses when its worker dies."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    arguments: Mapped[dict[str, Any]] = mapped_column()
    state: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[dict[str, Any] | None] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class CaseShare(Base):
    """A case opened to another agency on the same server, to read or to contribute."""

    __tablename__ = "case_share"
    __table_args__ = (UniqueConstraint("case_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    access: Mapped[str] = mapped_column(String(20))
    shared_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
