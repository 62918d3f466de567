"""Subjects: the sortable list, one subject's page, and the analyst's decisions on it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from vigil.errors import UsageError
from vigil.server.api.jobs import record_outcome_and_deliver
from vigil.server.policy import Permission
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.jobs import delivering, relink
from vigil.server.web.queries.listing import Sort
from vigil.server.web.queries.subjects import (
    SORTS,
    list_subject_page,
    subject_detail,
    subject_in_reach,
)
from vigil.server.web.render import PageContext, render
from vigil.workflows.identity.decisions import decide_link, merge_subjects, split_subject
from vigil.workflows.referral.outcomes import OUTCOME_KINDS

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/subjects")
def subjects_page(
    sort: str | None = None,
    role: str | None = None,
    country: str | None = None,
    q: str | None = None,
    page_number: int = Query(1, alias="page", ge=1, le=100000),
    ctx: PageContext = Depends(page(Permission.READ)),
) -> HTMLResponse:
    order = Sort.parse(sort, SORTS, "-priority")
    with ctx.store.reading() as session:
        result = list_subject_page(
            session, ctx.me, page=page_number, sort=order, role=role, country=country, text=q
        )

    pager_url = ctx.pager("/subjects")

    return render(
        ctx,
        "subjects.html",
        "Subjects",
        page=result,
        sort=order,
        pager_url=pager_url,
        role=role or "",
        country=country or "",
        q=q or "",
    )


@router.get("/subjects/{subject_id}")
def subject_page(
    subject_id: int, ctx: PageContext = Depends(page(Permission.READ))
) -> HTMLResponse:
    with ctx.store.reading() as session:
        detail = subject_detail(session, ctx.me, subject_id)
    return render(
        ctx,
        "subject.html",
        detail["subject"].label,
        can_decide=ctx.may(Permission.DECIDE_LINKS),
        can_refer=ctx.may(Permission.REFER),
        outcome_kinds=OUTCOME_KINDS,
        **detail,
    )


def _check_reach(ctx: PageContext, subject_id: int) -> None:
    with ctx.store.reading() as session:
        subject_in_reach(session, ctx.me, subject_id)


@router.post("/subjects/{subject_id}/links")
async def decide(
    subject_id: int, request: Request, ctx: PageContext = Depends(page(Permission.DECIDE_LINKS))
) -> Response:
    _check_reach(ctx, subject_id)
    form = await request.form()
    decision = str(form.get("decision", ""))
    a, b = str(form.get("a", "")), str(form.get("b", ""))
    decide_link(ctx.store, ctx.me, a, b, decision, relink=False)
    job_id = relink(request, ctx.me)
    return done(
        f"/subjects/{subject_id}?job={job_id}",
        f"Link {a} ~ {b} {decision}ed. Re-linking the subjects (job {job_id}); "
        "this page updates when it is done.",
    )


@router.post("/subjects/{subject_id}/split")
async def split(
    subject_id: int, request: Request, ctx: PageContext = Depends(page(Permission.DECIDE_LINKS))
) -> Response:
    _check_reach(ctx, subject_id)
    accounts = [str(value) for value in (await request.form()).getlist("account")]
    if not accounts:
        raise UsageError("choose the accounts to move to the new subject")
    result = split_subject(ctx.store, ctx.me, subject_id, accounts)
    return done(f"/subjects/{result.new_subject_id}", f"Split out of subject {subject_id}.")


@router.post("/subjects/{subject_id}/merge")
async def merge(
    subject_id: int, request: Request, ctx: PageContext = Depends(page(Permission.DECIDE_LINKS))
) -> Response:
    other = str((await request.form()).get("other", "")).strip()
    if not other.isdigit():
        raise UsageError("give the number of the subject to merge in")
    _check_reach(ctx, subject_id)
    _check_reach(ctx, int(other))
    merge_subjects(ctx.store, ctx.me, subject_id, int(other))
    return done(f"/subjects/{subject_id}", f"Subject {other} merged into this one.")


@router.post("/subjects/{subject_id}/outcome")
async def outcome(
    subject_id: int, request: Request, ctx: PageContext = Depends(page(Permission.REFER))
) -> Response:
    _check_reach(ctx, subject_id)
    form = await request.form()
    day = str(form.get("date", "")).strip() or None
    info, delivery = record_outcome_and_deliver(
        request, ctx.me, str(subject_id), str(form.get("kind", "")), day
    )
    text = f"Outcome recorded: {info.kind} on {info.date}."
    return done(f"/subjects/{subject_id}", text + delivering(delivery))
