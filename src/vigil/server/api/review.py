"""The review queue (`vigil links review --json`) within reach, best first, a page at a time.

The queue costs a full resolution in memory (seconds at seed scale), so it is kept against
the evidence head, like the ranking. When the evidence moves (a decision, an ingest, a
resolve), a reader is not made to wait for the new queue: it gets the last one less the
pairs decided since, marked not fresh, and the queue is computed again once the response has
gone (one computation at a time). Only the first read after the server starts waits.

An item is shown only when both of its accounts were sighted within the user's reach, so
another agency's accounts never appear, not even as the other half of a pair. Decisions go
through ``POST /api/links/{decision}`` (``decisions.py``), which applies them to the subjects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from sqlalchemy import or_, select

from vigil.errors import NotFound
from vigil.server.auth import allow, store_of
from vigil.server.params import MAX_ROW_ID, json_response
from vigil.server.policy import Permission
from vigil.server.scope import accounts_in_reach
from vigil.store.db import Actor, Store
from vigil.store.models import LinkDecision, utcnow
from vigil.workflows.identity.decisions import find_account
from vigil.workflows.identity.review import review_links
from vigil.workflows.operation.audit import evidence_head

router = APIRouter(prefix="/api/links", tags=["decisions"])


@dataclass(frozen=True)
class QueueAccount:
    """An account of the queue as stored: its selector, and its names as first written."""

    selector_id: int
    platform: str
    username: str


@dataclass(frozen=True)
class QueueSnapshot:
    head: int
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
    head = evidence_head(store)  # read first: a change during the run makes it stale at once
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
    return QueueSnapshot(head, utcnow(), kept, accounts)


class ReviewQueue:
    """The last queue computed and the evidence head it was computed at."""

    def __init__(self) -> None:
        self._computing = threading.Lock()
        self._snapshot: QueueSnapshot | None = None

    def _current(self, store: Store) -> tuple[QueueSnapshot, bool]:
        head = evidence_head(store)
        snapshot = self._snapshot
        if snapshot is None:
            with self._computing:
                if self._snapshot is None:
                    self._snapshot = _compute(store)
                snapshot = self._snapshot
        return snapshot, snapshot.head == head

    def refresh(self, store: Store) -> None:
        """Compute the queue again if the evidence has moved; skipped while one is running."""
        if not self._computing.acquire(blocking=False):
            return
        try:
            snapshot = self._snapshot
            if snapshot is None or snapshot.head != evidence_head(store):
                self._snapshot = _compute(store)
        finally:
            self._computing.release()

    def view(self, store: Store, actor: Actor) -> QueueView:
        snapshot, fresh = self._current(store)
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


def review_view(request: Request, actor: Actor, background: BackgroundTasks) -> QueueView:
    """The queue as ``actor`` may see it; a stale one is recomputed after the response."""
    store = store_of(request)
    queue: ReviewQueue = request.app.state.review_queue
    view = queue.view(store, actor)
    if not view.fresh:
        background.add_task(queue.refresh, store)
    return view


@router.get("/review")
def review(
    request: Request,
    background: BackgroundTasks,
    limit: int = Query(default=50, ge=1, le=1000, description="A page of this many."),
    offset: int = Query(default=0, ge=0, le=MAX_ROW_ID),
    actor: Actor = Depends(allow(Permission.REVIEW_LINKS)),
) -> list[dict[str, Any]]:
    """`vigil links review --json` within reach: the pairs the model is unsure of, the most
    valuable decision first, each with its reasons and evidence; ``limit``/``offset`` page it.
    Answer with ``POST /api/links/confirm`` or ``/api/links/reject``."""
    items = review_view(request, actor, background).items
    return json_response(items[offset : offset + limit])
