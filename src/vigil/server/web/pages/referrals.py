"""Referrals: prepare them, download the package, follow their status, record outcomes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from vigil.errors import NotFound
from vigil.server.policy import Permission
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.jobs import prepare_referrals
from vigil.server.web.queries.records import list_referral_rows, referral_in_reach
from vigil.server.web.render import PageContext, render
from vigil.workflows.referral.status import REFERRAL_STATUSES, set_referral_status

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/referrals")
def referrals_page(ctx: PageContext = Depends(page(Permission.READ))) -> HTMLResponse:
    with ctx.store.reading() as session:
        rows = list_referral_rows(session, ctx.me)
    return render(
        ctx,
        "referrals.html",
        "Referrals",
        referrals=rows,
        statuses=REFERRAL_STATUSES,
        can_refer=ctx.may(Permission.REFER),
    )


@router.post("/referrals")
async def prepare(request: Request, ctx: PageContext = Depends(page(Permission.REFER))) -> Response:
    country = str((await request.form()).get("country", "")).strip().upper() or None
    job_id = prepare_referrals(request, ctx.me, country)
    which = f"for {country}" if country else "for every country"
    return done(f"/referrals?job={job_id}", f"Preparing referrals {which} (job {job_id}).")


@router.post("/referrals/{referral_id}/status")
async def status(
    referral_id: int, request: Request, ctx: PageContext = Depends(page(Permission.REFER))
) -> Response:
    new = str((await request.form()).get("status", ""))
    with ctx.store.transaction() as session:
        referral = referral_in_reach(session, ctx.me, referral_id)
        set_referral_status(session, ctx.me, referral, new)
    return done("/referrals", f"Referral {referral_id} is now {new}.")


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
