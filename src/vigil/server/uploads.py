"""Receiving an uploaded source: streamed to disk, refused (413) as soon as it is too large.

A declared ``Content-Length`` over the limit is refused before a byte is read; a body without
one (chunked) is counted as it arrives and refused the moment it passes the limit, and the
partial file is removed. The kept file is the original as received; its SHA-256 is recorded
when it is ingested.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vigil.errors import TooLarge, UsageError

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def safe_name(name: str) -> str:
    """The file name to keep: its last part, harmless characters only, never hidden or empty."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    if not base:
        raise UsageError("give the uploaded file's name (?name=...)")
    return base[:200]


async def receive_upload(request: Request, directory: Path, name: str, limit: int) -> Path:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"upload of {int(declared):,} bytes is over the limit of {limit:,}")
    folder = directory / uuid.uuid4().hex
    await run_in_threadpool(folder.mkdir, parents=True, exist_ok=False)
    target = folder / safe_name(name)
    received = 0
    handle = await run_in_threadpool(target.open, "wb")
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise TooLarge(f"upload is over the limit of {limit:,} bytes")
            await run_in_threadpool(handle.write, chunk)
    except BaseException:
        handle.close()
        target.unlink(missing_ok=True)
        folder.rmdir()
        raise
    handle.close()
    if received == 0:
        target.unlink()
        folder.rmdir()
        raise UsageError("the upload is empty")
    return target
