"""Long work started from a page form goes to the server's durable job queue, exactly as
from the API: triage, an uploaded source to ingest, re-linking after a decision (referrals and
deliveries to peers go through the API's own ``queue_referrals`` and ``queue_delivery``).
The page then shows the job's progress, read live from ``/api/jobs/{id}``."""

from __future__ import annotations

import uuid

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from vigil.errors import TooLarge, UsageError
from vigil.formats.registry import SOURCE_FORMATS
from vigil.server.api.jobs import evidence_path, own_case, queue_job
from vigil.server.uploads import safe_name
from vigil.store.db import Actor

CHUNK_BYTES = 1024 * 1024


def relink(request: Request, actor: Actor) -> int:
    """Resolve again (incrementally), so the subjects follow the decision just recorded."""
    return int(queue_job(request, actor, "resolve", {"full": False})["id"])


def delivering(job_id: int | None) -> str:
    """What a page says after a write that started a delivery to peers (``queue_delivery``)."""
    return "" if job_id is None else f" Delivering what waits in the outbox (job {job_id})."


def start_triage(
    request: Request, actor: Actor, reference: str, path: str, owner: str | None
) -> int:
    case_id = own_case(request, actor, reference)
    args = {"path": str(evidence_path(request, path)), "case": reference, "owner": owner}
    return int(queue_job(request, actor, "triage", args, case_id)["id"])


async def start_ingest(request: Request, actor: Actor, reference: str) -> int:
    """The form's file, kept under the upload folder (within the size limit), then ingested."""
    form = await request.form()
    format_name, upload = str(form.get("format", "")), form.get("file")
    if format_name not in SOURCE_FORMATS.names():
        raise UsageError(f"format must be one of {', '.join(SOURCE_FORMATS.names())}")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UsageError("choose a file to upload")
    case_id = own_case(request, actor, reference)
    settings = request.app.state.settings
    folder = settings.upload_dir / uuid.uuid4().hex
    await run_in_threadpool(folder.mkdir, parents=True)
    target = folder / safe_name(upload.filename)
    received = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(CHUNK_BYTES):
            received += len(chunk)
            if received > settings.upload_limit_bytes:
                handle.close()
                target.unlink()
                folder.rmdir()
                raise TooLarge(f"upload is over the limit of {settings.upload_limit_bytes:,} bytes")
            await run_in_threadpool(handle.write, chunk)
    if received == 0:
        target.unlink()
        folder.rmdir()
        raise UsageError("the upload is empty")
    args = {"format": format_name, "path": str(target), "case": reference, "platform": None}
    return int(queue_job(request, actor, "ingest", args, case_id)["id"])
