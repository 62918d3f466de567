"""A series' victim-identification status, as the people working it report it.

Triage groups new images into series (``vigil.triage.series``); each may be a child still to
be found. Its status says how far the identification has come. Every change is audited (the
audit log is the status history), with who changed it, from what, and the note given.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.models import Series

# unidentified: nobody is known yet; in_progress: someone is working on it; identified: the
# child is known; safeguarded: the child is safe.
SERIES_STATUSES = ("unidentified", "in_progress", "identified", "safeguarded")


def set_series_status(
    session: Session, actor: Actor, series: Series, status: str, note: str | None = None
) -> bool:
    """Move ``series`` (already found in the actor's reach) to ``status``; False if it is
    there already."""
    if status not in SERIES_STATUSES:
        raise UsageError(f"status must be one of {', '.join(SERIES_STATUSES)}: {status!r}")
    note = (note or "").strip()[:1000] or None
    if series.status == status:
        return False
    previous, series.status = series.status, status
    session.flush()
    audit.append(
        session,
        actor,
        "series.status",
        "series",
        series.id,
        {"label": series.label, "from": previous, "to": status, "note": note},
    )
    return True
