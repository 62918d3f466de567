"""Subjects: the `vigil subjects --json` list and one subject, within the user's reach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vigil.errors import NotFound
from vigil.server.auth import allow, store_of
from vigil.server.params import MAX_ROW_ID, RowId, json_response
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.store.db import Actor
from vigil.workflows.identity.subjects import subject_records

router = APIRouter(prefix="/api/subjects", tags=["subjects"])


def _records(request: Request, subject_ids: list[int]) -> list[dict[str, Any]]:
    with store_of(request).reading() as session:
        return subject_records(session, subject_ids)


@router.get("")
def subjects(
    request: Request,
    limit: int | None = Query(default=None, ge=1, le=10_000, description="A page of this many."),
    offset: int = Query(default=0, ge=0, le=MAX_ROW_ID),
    actor: Actor = Depends(allow(Permission.READ)),
) -> list[dict[str, Any]]:
    """`vigil subjects --json`, within reach, in id order; ``limit``/``offset`` page it."""
    with store_of(request).reading() as session:
        visible = sorted(visible_subjects(session, actor))
    page = visible[offset : offset + limit] if limit else visible[offset:]
    return json_response(_records(request, page))


@router.get("/{subject_id}")
def subject(
    subject_id: RowId, request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> dict[str, Any]:
    with store_of(request).reading() as session:
        visible = subject_id in visible_subjects(session, actor)
    found = _records(request, [subject_id]) if visible else []
    if found:
        return found[0]
    raise NotFound(f"no subject {subject_id}")
