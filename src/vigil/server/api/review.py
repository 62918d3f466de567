"""The review queue (`vigil links review --json`) within reach, best first, a page at a time.

The queue costs a full resolution in memory (seconds at seed scale), so it is kept against
the evidence head like the ranking (``vigil.server.derived.Kept``). When the evidence moves (a
decision, an ingest, a resolve), a reader is not made to wait for the new queue: it gets the
last one less the pairs decided since, marked not fresh, while the queue is computed again in
the background (one computation at a time). Only the first read after the server starts
waits.

An item is shown only when both of its accounts were sighted within the user's reach, so
another agency's accounts never appear, not even as the other half of a pair. Decisions go
through ``POST /api/links/{decision}`` (``decisions.py``), which applies them to the subjects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import or_, select

from vigil.errors import NotFound
from vigil.server.auth import allow, store_of
from vigil.server.derived import Kept
from vigil.server.params import MAX_ROW_ID, json_response
from vigil.server.policy import Permission
from vigil.server.scope import accounts_in_reach
from vigil.store.db import Actor, Store
from vigil.store.models import LinkDecision, utcnow
from vigil.workflows.identity.decisions import find_account
from vigil.workflows.identity.review import review_links

router = APIRouter(prefix="/api/links", tags=["decisions"])


@dataclass(frozen=True)
class QueueAccount:
    """An account of the queue as stored: its selector, and its names as first written."""

    selector_id: int
    platform: str
    username: str


@dataclass(frozen=True)
class QueueSnapshot:
    computed_at: datetime
    items: list[dict[str, Any]]
    accounts: dict[str, QueueAccount]  # by the items' ``a`` and ``b``


@dataclass(frozen=True)
class QueueView:
    """What one user may see of the queue now."""

    items: list[dict[str, Any]]
    fresh: bool  # computed at the current evidence head, not a queue being recomputed
    computed_at: datetime
    accounts: dict[str, QueueAccount]


def _compute(store: Store) -> QueueSnapshot:
    items = review_links(store, None)
    accounts: dict[str, QueueAccount] = {}
    with store.reading() as session:
        for key in {item[side] for item in items for side in ("a", "b")}:
            try:
                selector = find_account(session, key)
            except NotFound:
                continue  # gone since the run: its items are dropped below
            accounts[key] = QueueAccount(selector.id, selector.platform, selector.display)
    kept = [item for item in items if item["a"] in accounts and item["b"] in accounts]
    return QueueSnapshot(utcnow(), kept, accounts)


class ReviewQueue:
    """The last queue computed, kept against the evidence head it was computed at."""

    def __init__(self) -> None:
        self._kept = Kept(_compute)

    def refresh(self, store: Store) -> None:
        """Compute the queue now if the evidence has moved (the server warms it at start)."""
        self._kept.get(store)

    def settle(self) -> None:
        """Wait for a background recomputation to end (tests; a server shutting down)."""
        self._kept.settle()

    def view(self, store: Store, actor: Actor) -> QueueView:
        snapshot, updating = self._kept.get(store, wait=False)
        fresh = not updating
        ids = {key: account.selector_id for key, account in snapshot.accounts.items()}
        with store.reading() as session:
            reach = accounts_in_reach(session, actor, ids.values())
            decided: set[tuple[int, int]] = set()
            if not fresh:
                in_queue = list(ids.values())
                decided = {
                    (low, high)
                    for low, high in session.execute(
                        select(LinkDecision.selector_a_id, LinkDecision.selector_b_id).where(
                            or_(
                                LinkDecision.selector_a_id.in_(in_queue),
                                LinkDecision.selector_b_id.in_(in_queue),
                            )
                        )
                    )
                }
        items = []
        for item in snapshot.items:
            a, b = ids[item["a"]], ids[item["b"]]
            if a in reach and b in reach and (min(a, b), max(a, b)) not in decided:
                items.append(item)
        return QueueView(items, fresh, snapshot.computed_at, snapshot.accounts)


def review_view(request: Request, actor: Actor) -> QueueView:
    """The queue as ``actor`` may see it; a stale one is being recomputed meanwhile."""
    queue: ReviewQueue = request.app.state.review_queue
    return queue.view(store_of(request), actor)


@router.get("/review")
def review(
    request: Request,
    limit: int = Query(default=50, ge=1, le=1000, description="A page of this many."),
    offset: int = Query(default=0, ge=0, le=MAX_ROW_ID),
    actor: Actor = Depends(allow(Permission.REVIEW_LINKS)),
) -> list[dict[str, Any]]:
    """`vigil links review --json` within reach: the pairs the model is unsure of, the most
    valuable decision first, each with its reasons and evidence; ``limit``/``offset`` page it.
    Answer with ``POST /api/links/confirm`` or ``/api/links/reject``."""
    items = review_view(request, actor).items
    return json_response(items[offset : offset + limit])
