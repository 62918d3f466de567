"""The network: the graph beside the ranking with its reasons, and evidence paths.

After new evidence the page shows the last ranking at once, saying a newer one is being
computed, instead of making the reader wait for it (``vigil.server.derived``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from vigil.errors import NotFound
from vigil.graph.model import PathStep
from vigil.server.policy import Permission
from vigil.server.scope import visible_subjects
from vigil.server.web.access import PageRoute, page
from vigil.server.web.queries.network import GRAPH_SUBJECTS, subject_graph
from vigil.server.web.render import PageContext, render
from vigil.store.models import Subject
from vigil.workflows.network.rank import EvidencePath, find_subject

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RANKING_SHOWN = 50


def step_text(step: PathStep) -> str:
    text = f"{step.label} ({step.kind})"
    return f"{text}, then {step.evidence}" if step.evidence else text


@router.get("/network")
def network_page(
    request: Request,
    a: str | None = None,
    b: str | None = None,
    ctx: PageContext = Depends(page(Permission.READ)),
) -> HTMLResponse:
    with ctx.store.reading() as session:
        visible = visible_subjects(session, ctx.me)
    result, updating = request.app.state.rank_cache.ranking_now(ctx.store)
    ranking = [item for item in result.ranking if item.subject_id in visible][:RANKING_SHOWN]
    path = None
    labels: dict[int, str] = {}
    if a and b:
        with ctx.store.reading() as session:
            ends = [find_subject(session, a).id, find_subject(session, b).id]
            labels = dict(
                session.execute(select(Subject.id, Subject.label).where(Subject.id.in_(ends))).all()
            )
        if not set(ends) <= visible:
            raise NotFound("no such subject")
        views, views_updating = request.app.state.network_views.views_now(ctx.store)
        updating = updating or views_updating
        path = EvidencePath(ends[0], ends[1], views.path(ends[0], ends[1]))
    path_subjects = [
        step.node.partition(":")[2]
        for step in (path.steps if path else [])
        if step.kind == "subject"
    ]
    return render(
        ctx,
        "network.html",
        "Network",
        ranking=ranking,
        a=a or "",
        b=b or "",
        path=path,
        path_labels=labels,
        path_subjects=path_subjects,
        step_text=step_text,
        graph_size=GRAPH_SUBJECTS,
        updating=updating,
    )


@router.get("/network/graph.json")
def network_graph_json(
    request: Request, ctx: PageContext = Depends(page(Permission.READ))
) -> JSONResponse:
    """Subjects (highest priority first) and the ties between them, for the graph view."""
    with ctx.store.reading() as session:
        visible = visible_subjects(session, ctx.me)
    result, _ = request.app.state.rank_cache.ranking_now(ctx.store)
    views, _ = request.app.state.network_views.views_now(ctx.store)
    data: dict[str, Any] = subject_graph(views.ties, result, visible)
    return JSONResponse(data, headers={"cache-control": "no-store"})
