"""Long work as durable jobs: triage, upload-and-ingest, hash-set import, resolve, refer,
delivery to peers.

Each POST records a job and answers 202 with it; ``GET /api/jobs/{id}`` follows its progress
and, once done, holds the same JSON the CLI command prints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.errors import UsageError
from vigil.formats.registry import SOURCE_FORMATS
from vigil.server.auth import allow, store_of
from vigil.server.params import RowId
from vigil.server.policy import Permission
from vigil.server.scope import case_in_reach
from vigil.server.uploads import receive_upload
from vigil.store.db import Actor
from vigil.workflows.federation.exchange import check_sendable, outbox_counts
from vigil.workflows.operation import jobs
from vigil.workflows.operation.accounts import check_country
from vigil.workflows.referral.outcomes import OutcomeInfo, record_outcome

router = APIRouter(prefix="/api", tags=["jobs"])
MAX_JOB_WAIT_SECONDS = 60.0  # a long poll holds a connection: one minute, then ask again
JOB_POLL_SECONDS = 1.0  # each read of the row is a transaction: on SQLite, a lock round
FINISHED_STATES = ("done", "failed")


class TriageRequest(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="Under the evidence root.")
    owner: str | None = Field(default=None, max_length=300)
    batch_files: int | None = Field(default=None, ge=1, le=100_000)


class ResolveRequest(BaseModel):
    full: bool = False


class ReferRequest(BaseModel):
    country: str | None = Field(default=None, min_length=2, max_length=2)
    all: bool = False
    send: bool = Field(
        default=False, description="Deliver each package to the peer serving its country."
    )


def queue_job(
    request: Request,
    actor: Actor,
    kind: str,
    args: dict[str, Any],
    case_id: int | None = None,
    *,
    same_while: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Queue a job and wake the runner. With ``same_while``, a job of the agency with the same
    kind and arguments in one of those states is answered instead of a new one."""
    store = store_of(request)
    waiting = jobs.unfinished_job(store, actor, kind, args, same_while) if same_while else None
    if waiting is not None:
        return dataclasses.asdict(waiting)
    info = jobs.enqueue(store, actor, kind, args, case_id)
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake.set()
    return dataclasses.asdict(info)


def own_case(request: Request, actor: Actor, reference: str) -> int:
    """The case new evidence goes into: the agency's own, or one shared to contribute."""
    with store_of(request).reading() as session:
        return case_in_reach(session, actor, reference, write=True).id


def evidence_path(request: Request, relative: str) -> Path:
    """A path under the configured evidence root; anything that escapes it is refused."""
    root = request.app.state.settings.evidence_root
    if root is None:
        raise UsageError("this server has no evidence root (vigil serve --evidence-root DIR)")
    base = Path(root).resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base):
        raise UsageError(f"{relative!r} is outside the evidence root")
    if not candidate.exists():
        raise UsageError(f"no such evidence under the evidence root: {relative!r}")
    return candidate


@router.get("/jobs/{job_id}")
async def job(
    job_id: RowId,
    request: Request,
    wait: float = Query(
        0.0,
        ge=0.0,
        le=MAX_JOB_WAIT_SECONDS,
        description="Answer when the job is done or failed, or after this many seconds.",
    ),
    actor: Actor = Depends(allow(Permission.READ)),
) -> dict[str, Any]:
    """The job as it stands; with ``wait``, a long poll: a script follows a job with one
    request instead of one a second. The job may run in another process (`vigil worker`),
    so its row is read again every ``JOB_POLL_SECONDS``, off the event loop, for as long as
    the client is still there to be answered."""
    store = store_of(request)
    deadline = time.monotonic() + wait
    status = await run_in_threadpool(jobs.job_status, store, job_id, actor.agency_id)
    while status.state not in FINISHED_STATES and (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(JOB_POLL_SECONDS, left))
        if await request.is_disconnected():
            break  # nobody to answer: stop reading the store for them
        status = await run_in_threadpool(jobs.job_status, store, job_id, actor.agency_id)
    return dataclasses.asdict(status)


@router.post("/cases/{reference}/triage", status_code=202)
def triage(
    reference: str,
    body: TriageRequest,
    request: Request,
    actor: Actor = Depends(allow(Permission.INVESTIGATE)),
) -> dict[str, Any]:
    """`vigil triage PATH --case REF` on evidence already on the server's disk."""
    case_id = own_case(request, actor, reference)
    path = evidence_path(request, body.path)
    args: dict[str, Any] = {"path": str(path), "case": reference, "owner": body.owner}
    if body.batch_files:
        args["batch_files"] = body.batch_files
    return queue_job(request, actor, "triage", args, case_id)


@router.post(
    "/cases/{reference}/sources",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload_source(
    reference: str,
    request: Request,
    format: str = Query(description="cybertip, irc, chat-jsonl, phpbb (SQLite file) or isp"),
    name: str = Query(min_length=1, max_length=255, description="The file's original name."),
    platform: str | None = Query(default=None, max_length=100),
    actor: Actor = Depends(allow(Permission.INVESTIGATE)),
) -> dict[str, Any]:
    """Upload one source document as the request body, then ingest it as a job."""
    if format not in SOURCE_FORMATS.names():
        raise UsageError(f"format must be one of {', '.join(SOURCE_FORMATS.names())}")
    case_id = own_case(request, actor, reference)
    settings = request.app.state.settings
    kept = await receive_upload(request, settings.upload_dir, name, settings.upload_limit_bytes)
    args = {"format": format, "path": str(kept), "case": reference, "platform": platform}
    return queue_job(request, actor, "ingest", args, case_id)


@router.post(
    "/hashsets",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def import_hashset(
    request: Request,
    format: str = Query(description="vics, nsrl, icse, hashdeep or list"),
    name: str = Query(min_length=1, max_length=200),
    kind: str | None = Query(default=None, pattern="^(alert|ignorable)$"),
    hash_type: str | None = Query(default=None, pattern="^(md5|sha1|sha256|pdq)$"),
    actor: Actor = Depends(allow(Permission.INVESTIGATE)),
) -> dict[str, Any]:
    """`vigil hashset import FORMAT FILE --name NAME`, the file as the request body."""
    from vigil.workflows.media.hashsets import hash_set_format

    hash_set_format(format)
    settings = request.app.state.settings
    kept = await receive_upload(
        request, settings.upload_dir, f"{name}.{format}", settings.upload_limit_bytes
    )
    args = {"format": format, "path": str(kept), "name": name, "kind": kind, "hash_type": hash_type}
    return queue_job(request, actor, "hashset", args)


@router.post("/resolve", status_code=202)
def resolve(
    body: ResolveRequest, request: Request, actor: Actor = Depends(allow(Permission.INVESTIGATE))
) -> dict[str, Any]:
    return queue_job(request, actor, "resolve", {"full": body.full})


@router.post("/countries", status_code=202)
def countries(
    request: Request, actor: Actor = Depends(allow(Permission.INVESTIGATE))
) -> dict[str, Any]:
    """`vigil countries`: place each subject (subscriber return > provider > IP majority)."""
    return queue_job(request, actor, "countries", {})


@router.post("/referrals", status_code=202)
def refer(
    body: ReferRequest, request: Request, actor: Actor = Depends(allow(Permission.REFER))
) -> dict[str, Any]:
    """`vigil refer --country CC | --all`: packages written under the server's referral folder."""
    if body.all == (body.country is not None):
        raise UsageError("give exactly one of country or all")
    return queue_referrals(request, actor, body.country, send=body.send)


@router.post("/outbox/deliver", status_code=202)
def deliver(request: Request, actor: Actor = Depends(allow(Permission.REFER))) -> dict[str, Any]:
    """`vigil federation sync`: every message waiting in the outbox (referrals, outcomes for
    referring agencies, key changes) tried once; what a peer does not answer stays. A
    delivery already queued is that job."""
    return queue_job(request, actor, "deliver", {}, same_while=("queued",))


def queue_referrals(
    request: Request, actor: Actor, country: str | None, *, send: bool
) -> dict[str, Any]:
    """A refer job: packages under the server's referral folder, one folder per agency.

    A send is checked here too, so that the user hears at once (the job checks again when it
    runs), and it names one country: every country's packages include countries no peer
    serves (the unit's own among them), and the send would stop at the first of those with
    every package already written."""
    country = check_country(country)  # "us" and "US" are one send
    if send:
        if country is None:
            raise UsageError(
                "a send names one country; prepare every country's packages without sending"
            )
        check_sendable(store_of(request), actor, country)
    out_dir = request.app.state.settings.referral_dir / actor.agency_code
    args = {"country": country, "out_dir": str(out_dir), "send": send}
    # A second send of the same country while the first is on its way would deliver the
    # same package twice, under two referrals (each is its own message to the peer).
    same_while = ("queued", "running") if send else ()
    return queue_job(request, actor, "refer", args, same_while=same_while)


def record_outcome_and_deliver(
    request: Request, actor: Actor, subject: str, kind: str, on: str | None
) -> tuple[OutcomeInfo, int | None]:
    """`vigil outcome` on the server (the API and both pages that record one): the outcome,
    then a delivery job when anything waits for a peer (``queue_delivery``)."""
    info = record_outcome(store_of(request), actor, subject, kind, on)
    return info, queue_delivery(request, actor)


def queue_delivery(request: Request, actor: Actor) -> int | None:
    """A deliver job when messages wait in the agency's outbox, as `vigil outcome` delivers
    after recording: an outcome for a subject a peer referred goes back to that peer after
    the response, never holding the request while a peer is slow or down."""
    if not outbox_counts(store_of(request), actor)["pending"]:
        return None
    return int(queue_job(request, actor, "deliver", {}, same_while=("queued",))["id"])
