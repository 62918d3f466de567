"""Analysts' decisions on links, and outcomes: `vigil link confirm|reject`, `vigil outcome`."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vigil.errors import NotFound
from vigil.server.api.jobs import record_outcome_and_deliver
from vigil.server.auth import allow, store_of
from vigil.server.params import MAX_ROW_ID
from vigil.server.policy import Permission
from vigil.server.scope import account_in_reach, visible_subjects
from vigil.store.constants import OUTCOME_KINDS
from vigil.store.db import Actor
from vigil.workflows.identity.decisions import decide_link

router = APIRouter(prefix="/api", tags=["decisions"])


class LinkDecision(BaseModel):
    a: str = Field(min_length=3, max_length=600, description="platform:username")
    b: str = Field(min_length=3, max_length=600, description="platform:username")
    note: str | None = Field(default=None, max_length=2000)


class NewOutcome(BaseModel):
    subject: int = Field(ge=1, le=MAX_ROW_ID)
    kind: Literal[OUTCOME_KINDS]  # type: ignore[valid-type]
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


@router.post("/links/{decision}")
def link(
    decision: Literal["confirm", "reject"],
    body: LinkDecision,
    request: Request,
    actor: Actor = Depends(allow(Permission.DECIDE_LINKS)),
) -> dict[str, Any]:
    """Two accounts are (confirm) or are not (reject) one person; the next resolve obeys."""
    store = store_of(request)
    with store.reading() as session:
        account_in_reach(session, actor, body.a)
        account_in_reach(session, actor, body.b)
    return dataclasses.asdict(decide_link(store, actor, body.a, body.b, decision, body.note))


@router.post("/outcomes", status_code=201)
def outcome(
    body: NewOutcome, request: Request, actor: Actor = Depends(allow(Permission.REFER))
) -> dict[str, Any]:
    store = store_of(request)
    with store.reading() as session:
        if body.subject not in visible_subjects(session, actor):
            raise NotFound(f"no subject {body.subject}")
    info, delivery = record_outcome_and_deliver(
        request, actor, str(body.subject), body.kind, body.date
    )
    return {**dataclasses.asdict(info), "delivery_job": delivery}
