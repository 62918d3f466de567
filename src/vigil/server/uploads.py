"""Receiving an uploaded source: streamed to disk, refused (413) as soon as it is too large.

A declared ``Content-Length`` over the limit is refused before a byte is read; a body without
one (chunked) is counted as it arrives and refused the moment it passes the limit, and the
partial file is removed. The kept file is the original as received; its SHA-256 is recorded
when it is ingested.

The pages' forms (a source uploaded from the case page comes as a multipart form) get the same
rule from ``FormBodyLimit``: the body is counted as the form parser reads it, so a page upload
over the limit stops at the limit instead of being spooled whole first.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# What a page form carries besides the file: its other fields and the multipart boundaries.
FORM_OVERHEAD_BYTES = 64 * 1024
# A page form without a file (a decision, a status, a user) is small.
PLAIN_FORM_LIMIT_BYTES = 1024 * 1024


class FormBodyLimit:
    """Plain ASGI middleware: a page's form post (outside ``/api``, whose uploads count their
    own bodies in ``receive_upload``) may not pass the upload limit (a multipart form) or
    ``PLAIN_FORM_LIMIT_BYTES`` (any other). ``TooLarge`` is raised where the body is read, so
    the page answers 413 with its one-line message."""

    def __init__(self, app: ASGIApp, upload_limit: int):
        self.app = app
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.upload_limit + FORM_OVERHEAD_BYTES if multipart else PLAIN_FORM_LIMIT_BYTES
        declared = headers.get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > limit
        shown = self.upload_limit if multipart else limit
        received = 0

        async def counted() -> Message:
            nonlocal received
            if too_large:
                raise TooLarge(f"upload of {int(declared):,} bytes is over the limit of {shown:,}")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(f"upload is over the limit of {shown:,} bytes")
            return message

        await self.app(scope, counted, send)
