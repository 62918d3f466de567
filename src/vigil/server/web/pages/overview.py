"""The operation at a glance, and one's own exposure."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from vigil.server.policy import Permission
from vigil.server.web.access import PageRoute, page
from vigil.server.web.queries.jobs import running_jobs
from vigil.server.web.queries.records import overview
from vigil.server.web.render import PageContext, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def overview_page(ctx: PageContext = Depends(page(Permission.READ))) -> HTMLResponse:
    with ctx.store.reading() as session:
        data = overview(session, ctx.me)
        jobs = running_jobs(session, ctx.me)
    return render(ctx, "overview.html", "Overview", jobs=jobs, **data)


@router.get("/me/exposure")
def exposure_page(ctx: PageContext = Depends(page(Permission.REVEAL))) -> HTMLResponse:
    """The meter of the page header, in full (the header computes it for every page)."""
    return render(ctx, "exposure.html", "Your exposure")
