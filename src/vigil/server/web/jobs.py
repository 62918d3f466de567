"""Starting the server's durable jobs from a page form (triage, ingest, resolve, refer)."""

from __future__ import annotations

from fastapi import Request

from vigil.errors import UsageError
from vigil.store.db import Actor


def _not_yet(kind: str) -> int:
    raise UsageError(f"{kind} jobs cannot be started from this server yet")


async def enqueue_upload(request: Request, actor: Actor | None, reference: str) -> int:
    return _not_yet("ingest")


def enqueue_triage(
    request: Request, actor: Actor | None, reference: str, path: str, owner: str | None
) -> int:
    return _not_yet("triage")


def enqueue_resolve(request: Request, actor: Actor | None) -> int:
    return _not_yet("resolve")


def enqueue_refer(request: Request, actor: Actor | None, country: str | None) -> int:
    return _not_yet("refer")
