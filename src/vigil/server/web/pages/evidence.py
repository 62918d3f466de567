"""Cases and their sources: open a case, upload a source, start a triage, watch the job."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from vigil.errors import UsageError
from vigil.formats.registry import SOURCE_FORMATS
from vigil.server.policy import Permission
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.jobs import start_ingest, start_triage
from vigil.server.web.queries.jobs import case_jobs
from vigil.server.web.queries.records import case_detail, list_cases
from vigil.server.web.render import PageContext, render
from vigil.workflows.operation.setup import open_case

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/cases")
def cases_page(ctx: PageContext = Depends(page(Permission.READ))) -> HTMLResponse:
    with ctx.store.reading() as session:
        cases = list_cases(session, ctx.me)
    return render(
        ctx, "cases.html", "Cases", cases=cases, can_investigate=ctx.may(Permission.INVESTIGATE)
    )


@router.post("/cases")
async def open_case_form(
    request: Request, ctx: PageContext = Depends(page(Permission.INVESTIGATE))
) -> Response:
    form = await request.form()
    reference = str(form.get("reference", "")).strip()
    if not reference:
        raise UsageError("a case needs a reference")
    open_case(ctx.store, ctx.me, reference, str(form.get("title", "")).strip() or None)
    return done(f"/cases/{reference}", f"Case {reference} is open.")


@router.get("/cases/{reference}")
def case_page(
    reference: str,
    page_number: int = Query(1, alias="page", ge=1, le=1000000),
    ctx: PageContext = Depends(page(Permission.READ)),
) -> HTMLResponse:
    with ctx.store.reading() as session:
        detail = case_detail(session, ctx.me, reference, page_number)
        jobs = case_jobs(session, ctx.me, detail["case"].id)
    return render(
        ctx,
        "case.html",
        f"Case {reference}",
        jobs=jobs,
        formats=SOURCE_FORMATS.names(),
        can_investigate=ctx.may(Permission.INVESTIGATE),
        pager_url=ctx.pager(f"/cases/{reference}"),
        **detail,
    )


@router.post("/cases/{reference}/sources")
async def upload_source(
    reference: str, request: Request, ctx: PageContext = Depends(page(Permission.INVESTIGATE))
) -> Response:
    job_id = await start_ingest(request, ctx.me, reference)
    return done(f"/cases/{reference}", f"Upload received; ingest job {job_id} started.")


@router.post("/cases/{reference}/triage")
async def triage_form(
    reference: str, request: Request, ctx: PageContext = Depends(page(Permission.INVESTIGATE))
) -> Response:
    form = await request.form()
    owner = str(form.get("owner", "")).strip() or None
    job_id = start_triage(request, ctx.me, reference, str(form.get("path", "")), owner)
    return done(f"/cases/{reference}", f"Triage job {job_id} started.")
