"""Series for victim identification: their status, as the people working them report it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vigil.server.auth import allow, store_of
from vigil.server.params import RowId
from vigil.server.policy import Permission
from vigil.server.scope import series_in_reach
from vigil.store.db import Actor
from vigil.workflows.media.series import SERIES_STATUSES, set_series_status

router = APIRouter(prefix="/api/series", tags=["series"])


class SeriesStatusChange(BaseModel):
    status: str = Field(json_schema_extra={"enum": list(SERIES_STATUSES)})
    note: str | None = Field(default=None, max_length=1000)


@router.post("/{series_id}/status")
def series_status(
    series_id: RowId,
    body: SeriesStatusChange,
    request: Request,
    actor: Actor = Depends(allow(Permission.INVESTIGATE)),
) -> dict[str, Any]:
    """Move a series along (unidentified, in_progress, identified, safeguarded), audited with
    the note; ``changed`` is false when it was there already. A series of a case shared with
    the agency read-only is refused (403)."""
    with store_of(request).transaction() as session:
        series = series_in_reach(session, actor, series_id, write=True)
        changed = set_series_status(session, actor, series, body.status, body.note)
        return {"id": series.id, "label": series.label, "status": series.status, "changed": changed}
