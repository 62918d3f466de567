"""The network: the ranking (`vigil network rank --json`) and the graph, within reach.

Ranking is computed from the evidence each time the evidence changes and not on every read:
the result is kept against the evidence head (``vigil.server.derived``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vigil.graph.model import NetworkResult
from vigil.server.auth import allow, store_of
from vigil.server.derived import Kept
from vigil.server.params import MAX_ROW_ID, json_response
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.store.db import Actor, Store
from vigil.workflows.network.graph_json import network_graph
from vigil.workflows.network.rank import current_ranking, rank_row

router = APIRouter(prefix="/api/network", tags=["network"])


@dataclass(frozen=True)
class Ranked:
    result: NetworkResult
    rows: list[dict[str, Any]]


def _rank(store: Store) -> Ranked:
    with store.reading() as session:
        result = current_ranking(session)
    return Ranked(result, [rank_row(item) for item in result.ranking])


class RankCache:
    """The last ranking and the evidence head it was computed at (``vigil.server.derived``):
    the API waits for a ranking of the evidence as it stands; a page takes the last one at
    once while a newer one is computed."""

    def __init__(self) -> None:
        self._kept = Kept(_rank)

    def ranking(self, store: Store, actor: Actor) -> NetworkResult:
        """The ranking of every subject, of the evidence as it stands."""
        return self._kept.get(store)[0].result

    def rows(self, store: Store, actor: Actor) -> list[dict[str, Any]]:
        """The same as `vigil network rank --json` rows, every subject."""
        return self._kept.get(store)[0].rows

    def ranking_now(self, store: Store) -> tuple[NetworkResult, bool]:
        """For a page: the last ranking at once, and whether a newer one is being computed."""
        ranked, updating = self._kept.get(store, wait=False)
        return ranked.result, updating

    def settle(self) -> None:
        self._kept.settle()


RANK_PAGE = 100  # the default page of the ranking: the top of it is what people read


def _ranked_in_reach(request: Request, actor: Actor) -> list[dict[str, Any]]:
    store = store_of(request)
    ranking = request.app.state.rank_cache.rows(store, actor)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    return [row for row in ranking if row["subject_id"] in visible]


@router.get("/rank")
def rank(
    request: Request,
    limit: int = Query(
        default=RANK_PAGE, ge=1, le=10_000, description="A page of this many (default 100)."
    ),
    offset: int = Query(default=0, ge=0, le=MAX_ROW_ID, description="Rows to skip."),
    top: int | None = Query(default=None, ge=1, description="The first N (overrides limit)."),
    actor: Actor = Depends(allow(Permission.READ)),
) -> list[dict[str, Any]]:
    """`vigil network rank --json` rows of the subjects in reach, highest first, a page at a
    time: ``limit`` rows (default 100) from ``offset``. ``X-Total-Count`` says how many there
    are in all, and a ``Link`` header with ``rel="next"`` gives the next page while there is
    one."""
    rows = _ranked_in_reach(request, actor)
    size = top or limit
    page = rows[offset : offset + size]
    headers = {"x-total-count": str(len(rows))}
    if offset + size < len(rows):
        following = request.url.include_query_params(offset=offset + size, limit=size)
        headers["link"] = f'<{following.path}?{following.query}>; rel="next"'
    answer = json_response(page)
    answer.headers.update(headers)
    return answer


@router.get("/graph")
def graph(
    request: Request,
    top: int | None = Query(
        default=None,
        ge=1,
        le=10_000,
        description="Only the N highest-ranked subjects in reach, with their neighbours.",
    ),
    actor: Actor = Depends(allow(Permission.READ)),
) -> dict[str, Any]:
    """Nodes (subjects, accounts, rooms, files) and edges, limited to subjects in reach (and
    with ``top``, to the highest ranked of them). ``subjects_in_reach`` and
    ``subjects_shown`` say how much of the network the answer holds."""
    store = store_of(request)
    with store.reading() as session:
        visible = visible_subjects(session, actor)
    shown = visible
    if top is not None:
        shown = {row["subject_id"] for row in _ranked_in_reach(request, actor)[:top]}
    return {
        **network_graph(store, shown),
        "subjects_in_reach": len(visible),
        "subjects_shown": len(shown),
    }
