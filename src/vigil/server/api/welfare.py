"""Revealing one file and the exposure meters (docs/web.md, "Welfare").

The reveal endpoints are the only ones that ever answer with evidence media: ``POST
/api/files/{sha256}/reveal`` opens a reveal (audited), ``GET .../reveal/{id}/media`` serves
the bytes to that person while it is open, ``POST .../reveal/{id}/seconds`` reports the
seconds on screen and closes it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vigil.server.auth import allow, store_of
from vigil.server.policy import Permission
from vigil.server.scope import file_in_reach
from vigil.store.db import Actor
from vigil.workflows.welfare.exposure import agency_exposure, my_exposure
from vigil.workflows.welfare.reveal import report_seconds, reveal_media, start_reveal

router = APIRouter(prefix="/api", tags=["welfare"])
SHA256 = Path(pattern="^[0-9a-fA-F]{64}$")


class RevealRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)
    view_known: bool = False


class SecondsReport(BaseModel):
    seconds: float = Field(ge=0, lt=86400)
    blurred: bool = True
    greyscale: bool = True
    ended: bool = False


@router.post("/files/{sha256}/reveal", status_code=201)
def reveal(
    body: RevealRequest,
    request: Request,
    sha256: str = SHA256,
    actor: Actor = Depends(allow(Permission.REVEAL)),
) -> dict[str, Any]:
    """Reveal one file to the caller: greyscale, blurred and muted first; audited."""
    with store_of(request).transaction() as session:
        file = file_in_reach(session, actor, sha256)
        started = start_reveal(session, actor, file, reason=body.reason, view_known=body.view_known)
    return {
        "reveal_id": started.reveal_id,
        "sha256": started.sha256,
        "mime": started.mime,
        "blurred": started.blurred,
        "greyscale": started.greyscale,
        "muted": started.muted,
        "media_url": f"/api/files/{started.sha256}/reveal/{started.reveal_id}/media",
    }


@router.get("/files/{sha256}/reveal/{reveal_id}/media")
def reveal_bytes(
    request: Request,
    reveal_id: int,
    sha256: str = SHA256,
    actor: Actor = Depends(allow(Permission.REVEAL)),
) -> Response:
    """The file's bytes, only to the person who opened this reveal and only while it is open."""
    with store_of(request).reading() as session:
        file_in_reach(session, actor, sha256)
        data, mime = reveal_media(session, actor, sha256, reveal_id)
    return Response(data, media_type=mime, headers={"content-disposition": "inline"})


@router.post("/files/{sha256}/reveal/{reveal_id}/seconds")
def reveal_seconds(
    body: SecondsReport,
    request: Request,
    reveal_id: int,
    sha256: str = SHA256,
    actor: Actor = Depends(allow(Permission.REVEAL)),
) -> dict[str, Any]:
    """The seconds on screen so far; ``ended`` closes the reveal. Returns the caller's meter."""
    with store_of(request).transaction() as session:
        file_in_reach(session, actor, sha256)
        exposure = report_seconds(
            session,
            actor,
            sha256,
            reveal_id,
            seconds=body.seconds,
            blurred=body.blurred,
            greyscale=body.greyscale,
            ended=body.ended,
        )
    return exposure.as_dict()


@router.get("/me/exposure")
def exposure(
    request: Request, actor: Actor = Depends(allow(Permission.SIGNED_IN))
) -> dict[str, Any]:
    """The caller's own meter: reveals and minutes today and this week, and the threshold."""
    with store_of(request).reading() as session:
        return my_exposure(session, actor).as_dict()


@router.get("/agency/exposure")
def staff_exposure(
    request: Request, actor: Actor = Depends(allow(Permission.SEE_EXPOSURE))
) -> list[dict[str, Any]]:
    """Every person of the caller's agency (supervisors): who is past the break threshold."""
    with store_of(request).reading() as session:
        return [meter.as_dict() for meter in agency_exposure(session, actor)]
