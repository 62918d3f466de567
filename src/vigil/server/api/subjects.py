"""Subjects: the `vigil subjects --json` list and one subject, within the user's reach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from vigil.errors import NotFound
from vigil.server.auth import allow, store_of
from vigil.server.params import RowId
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.store.db import Actor
from vigil.workflows.identity.subjects import subject_records

router = APIRouter(prefix="/api/subjects", tags=["subjects"])


def _visible(request: Request, actor: Actor, subject_id: int | None = None) -> list[dict[str, Any]]:
    store = store_of(request)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    if subject_id is not None:
        visible &= {subject_id}
    with store.reading() as session:
        return subject_records(session, sorted(visible))


@router.get("")
def subjects(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    return _visible(request, actor)


@router.get("/{subject_id}")
def subject(
    subject_id: RowId, request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> dict[str, Any]:
    found = _visible(request, actor, subject_id)
    if found:
        return found[0]
    raise NotFound(f"no subject {subject_id}")
