"""Subjects: the `vigil subjects --json` list and one subject, within the user's reach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from vigil.errors import NotFound
from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.store.db import Actor
from vigil.workflows.identity.subjects import list_subjects

router = APIRouter(prefix="/api/subjects", tags=["subjects"])


def _visible(request: Request, actor: Actor) -> list[dict[str, Any]]:
    store = store_of(request)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    return [s for s in list_subjects(store) if s["id"] in visible]


@router.get("")
def subjects(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    return _visible(request, actor)


@router.get("/{subject_id}")
def subject(
    subject_id: int, request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> dict[str, Any]:
    for found in _visible(request, actor):
        if found["id"] == subject_id:
            return found
    raise NotFound(f"no subject {subject_id}")
