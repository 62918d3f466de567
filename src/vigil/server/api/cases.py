"""Cases: list, open, one case with its sources, and sharing with another agency."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vigil.errors import Forbidden
from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.server.scope import case_in_reach, reachable_case_ids
from vigil.store.db import Actor
from vigil.workflows.operation import cases as case_workflow
from vigil.workflows.operation.setup import open_case

router = APIRouter(prefix="/api/cases", tags=["cases"])


class NewCase(BaseModel):
    reference: str = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=300)


class Share(BaseModel):
    agency: str = Field(min_length=1, max_length=32)
    access: Literal["read", "contribute"]


@router.get("")
def list_cases(
    request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> list[dict[str, Any]]:
    return case_workflow.list_cases(store_of(request), reachable_case_ids(actor))


@router.post("", status_code=201)
def create_case(
    body: NewCase, request: Request, actor: Actor = Depends(allow(Permission.INVESTIGATE))
) -> dict[str, Any]:
    """`vigil case open`: opening an existing reference returns it (``created`` false)."""
    info = open_case(store_of(request), actor, body.reference, body.title)
    return {
        "id": info.id,
        "reference": info.reference,
        "title": info.title,
        "status": info.status,
        "created": info.created,
    }


@router.get("/{reference}")
def get_case(
    reference: str, request: Request, actor: Actor = Depends(allow(Permission.READ))
) -> dict[str, Any]:
    store = store_of(request)
    with store.reading() as session:
        return case_workflow.describe_case(session, case_in_reach(session, actor, reference))


@router.post("/{reference}/shares")
def share_case(
    reference: str,
    body: Share,
    request: Request,
    actor: Actor = Depends(allow(Permission.INVESTIGATE)),
) -> dict[str, Any]:
    """Open this agency's case to another agency on the server, to read or to contribute."""
    store = store_of(request)
    with store.reading() as session:
        case = case_in_reach(session, actor, reference)
    if case.agency_id != actor.agency_id:
        raise Forbidden("only the agency that owns a case can share it")
    case_workflow.share_case(store, actor, case, body.agency, body.access)
    return {"reference": case.reference, "agency": body.agency, "access": body.access}
