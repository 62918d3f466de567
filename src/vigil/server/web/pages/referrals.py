"""Referrals: prepare and send them, download the package, follow their status and the
outbox that carries them, record outcomes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from vigil.errors import NotFound, UsageError
from vigil.server.api.jobs import queue_delivery, queue_referrals, record_outcome_and_deliver
from vigil.server.policy import Permission
from vigil.server.scope import referral_in_reach
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.jobs import delivering
from vigil.server.web.queries.records import (
    list_referral_rows,
    referral_detail,
    subject_in_referral,
)
from vigil.server.web.render import PageContext, render
from vigil.workflows.federation.exchange import list_outbox, outbox_counts
from vigil.workflows.referral.outcomes import OUTCOME_KINDS
from vigil.workflows.referral.status import REFERRAL_STATUSES, set_referral_status

router = APIRouter(route_class=PageRoute, include_in_schema=False)
OUTBOX_ROWS_SHOWN = 20  # the newest messages; `GET /api/outbox` lists them all


@router.get("/referrals")
def referrals_page(ctx: PageContext = Depends(page(Permission.READ))) -> HTMLResponse:
    with ctx.store.reading() as session:
        rows = list_referral_rows(session, ctx.me)
    counts = outbox_counts(ctx.store, ctx.me)
    return render(
        ctx,
        "referrals.html",
        "Referrals",
        referrals=rows,
        statuses=REFERRAL_STATUSES,
        can_refer=ctx.may(Permission.REFER),
        outbox=list_outbox(ctx.store, ctx.me, OUTBOX_ROWS_SHOWN),
        outbox_total=counts.total(),
        waiting=counts["pending"],
    )


@router.post("/referrals")
async def prepare(request: Request, ctx: PageContext = Depends(page(Permission.REFER))) -> Response:
    form = await request.form()
    country = str(form.get("country", "")).strip().upper() or None
    send = form.get("send") == "yes"
    job_id = queue_referrals(request, ctx.me, country, send=send)["id"]
    which = f"for {country}" if country else "for every country"
    verb = "Preparing and sending" if send else "Preparing"
    return done(f"/referrals?job={job_id}", f"{verb} referrals {which} (job {job_id}).")


@router.post("/referrals/deliver")
def deliver(request: Request, ctx: PageContext = Depends(page(Permission.REFER))) -> Response:
    """Try every message waiting in the outbox again (``vigil federation sync``)."""
    job_id = queue_delivery(request, ctx.me)
    if job_id is None:
        return done("/referrals", "Nothing waits in the outbox.", "info")
    return done(f"/referrals?job={job_id}", delivering(job_id).strip())


@router.get("/referrals/{referral_id}")
def referral_page(
    referral_id: int, ctx: PageContext = Depends(page(Permission.READ))
) -> HTMLResponse:
    with ctx.store.reading() as session:
        detail = referral_detail(session, ctx.me, referral_id)
    return render(
        ctx,
        "referral.html",
        f"Referral {referral_id}",
        statuses=REFERRAL_STATUSES,
        outcome_kinds=OUTCOME_KINDS,
        can_refer=ctx.may(Permission.REFER),
        **detail,
    )


@router.post("/referrals/{referral_id}/status")
async def status(
    referral_id: int, request: Request, ctx: PageContext = Depends(page(Permission.REFER))
) -> Response:
    """The same workflow as ``POST /api/referrals/{id}/status``; back to the page it came
    from (the list, or the referral's own page)."""
    form = await request.form()
    new, note = str(form.get("status", "")), str(form.get("note", "") or "").strip() or None
    with ctx.store.transaction() as session:
        referral = referral_in_reach(session, ctx.me, referral_id)
        changed = set_referral_status(session, ctx.me, referral, new, note)
    back = f"/referrals/{referral_id}" if form.get("back") == "referral" else "/referrals"
    if not changed:
        return done(back, f"Referral {referral_id} was already {new}.", "info")
    return done(back, f"Referral {referral_id} is now {new}.")


@router.post("/referrals/{referral_id}/outcome")
async def referral_outcome(
    referral_id: int, request: Request, ctx: PageContext = Depends(page(Permission.REFER))
) -> Response:
    """What came of it for one subject the referral names (``vigil outcome``)."""
    form = await request.form()
    subject = str(form.get("subject", "")).strip()
    if not subject.isdigit():
        raise UsageError("choose the subject the outcome is about")
    with ctx.store.reading() as session:
        subject_in_referral(session, ctx.me, referral_id, int(subject))
    day = str(form.get("date", "")).strip() or None
    info, delivery = record_outcome_and_deliver(
        request, ctx.me, subject, str(form.get("kind", "")), day
    )
    text = f"Outcome recorded for subject {subject}: {info.kind} on {info.date}."
    if not info.created:
        text = f"That outcome was already recorded for subject {subject}."
    return done(f"/referrals/{referral_id}", text + delivering(delivery))


def _zip(folder: Path) -> Iterator[bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    yield buffer.getvalue()


@router.get("/referrals/{referral_id}/package")
def package(referral_id: int, ctx: PageContext = Depends(page(Permission.READ))) -> Response:
    """The package as prepared (hashes and metadata, never media), zipped."""
    with ctx.store.reading() as session:
        referral = referral_in_reach(session, ctx.me, referral_id)
        folder = Path(referral.package_path)
    if not folder.is_dir():
        raise NotFound(f"the package of referral {referral_id} is not on this server")
    return StreamingResponse(
        _zip(folder),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{folder.name}.zip"'},
    )
