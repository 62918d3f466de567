"""One file's facts by SHA-256 (never its content)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.server.scope import file_in_reach, reachable_source_ids
from vigil.store.db import Actor
from vigil.workflows.media.files import describe_file

router = APIRouter(prefix="/api/files", tags=["files"])


@router.get("/{sha256}")
def file(
    request: Request,
    sha256: str = Path(pattern="^[0-9a-fA-F]{64}$"),
    actor: Actor = Depends(allow(Permission.READ)),
) -> dict[str, Any]:
    store = store_of(request)
    with store.reading() as session:
        file_in_reach(session, actor, sha256)
    return describe_file(store, sha256, reachable_source_ids(actor))
