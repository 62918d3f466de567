"""Files (never their content), one file's facts, the viewer page, and the series with their
victim-identification status (set by investigators and supervisors, audited)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from vigil.server.policy import Permission
from vigil.server.scope import series_in_reach
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.queries.files import (
    CATEGORIES,
    FILE_KEY,
    SORTS,
    file_detail,
    list_files,
)
from vigil.server.web.queries.listing import Sort
from vigil.server.web.queries.records import list_series
from vigil.server.web.render import PageContext, render
from vigil.workflows.media.series import SERIES_STATUSES, set_series_status

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SHA256 = Path(pattern="^[0-9a-fA-F]{64}$")


@router.get("/files")
def files_page(
    category: str | None = None,
    sort: str | None = None,
    page_number: int = Query(1, alias="page", ge=1, le=100000),
    ctx: PageContext = Depends(page(Permission.READ)),
) -> HTMLResponse:
    category = category if category in CATEGORIES else None
    order = Sort.parse(sort, SORTS, "-seen")
    with ctx.store.reading() as session:
        result = list_files(session, ctx.me, category=category, page=page_number, sort=order)

    pager_url = ctx.pager("/files")

    return render(
        ctx, "files.html", "Files", page=result, category=category, sort=order, pager_url=pager_url
    )


@router.get("/files/{key}")
def file_page(
    key: str = Path(pattern=FILE_KEY), ctx: PageContext = Depends(page(Permission.READ))
) -> HTMLResponse:
    """One file by SHA-256, or by the MD5 or SHA-1 a provider report named it by."""
    with ctx.store.reading() as session:
        detail = file_detail(session, ctx.me, key)
    return render(
        ctx,
        "file.html",
        f"File {key[:12]}",
        can_reveal=ctx.may(Permission.REVEAL),
        **detail,
    )


@router.get("/files/{sha256}/reveal")
def reveal_page(
    sha256: str = SHA256,
    known: int = 0,
    ctx: PageContext = Depends(page(Permission.REVEAL)),
) -> HTMLResponse:
    """The viewer, before anything is shown: the person still has to ask for the file."""
    with ctx.store.reading() as session:
        detail = file_detail(session, ctx.me, sha256)
    if detail["known"] and not known:
        ctx.flashes.append(("info", "This is known material: it does not need to be viewed."))
        return render(ctx, "file.html", f"File {sha256[:12]}", can_reveal=True, **detail)
    return render(
        ctx, "reveal.html", f"Viewer {sha256[:12]}", file=detail["file"], known=detail["known"]
    )


@router.post("/files/{sha256}/reveal")
def reveal_without_script(
    sha256: str = SHA256, ctx: PageContext = Depends(page(Permission.REVEAL))
) -> HTMLResponse:
    """Without JavaScript the viewer cannot time what is on screen, so it shows nothing."""
    ctx.flashes.append(
        ("error", "The viewer needs JavaScript to record how long a file is on screen.")
    )
    with ctx.store.reading() as session:
        detail = file_detail(session, ctx.me, sha256)
    return render(ctx, "file.html", f"File {sha256[:12]}", can_reveal=True, **detail)


@router.get("/series")
def series_page(ctx: PageContext = Depends(page(Permission.READ))) -> HTMLResponse:
    with ctx.store.reading() as session:
        rows = list_series(session, ctx.me)
    return render(
        ctx,
        "series.html",
        "Series",
        series=rows,
        statuses=SERIES_STATUSES,
        can_set=ctx.may(Permission.INVESTIGATE),
    )


@router.post("/series/{series_id}/status")
async def series_status(
    series_id: int, request: Request, ctx: PageContext = Depends(page(Permission.INVESTIGATE))
) -> Response:
    """Victim identification moves a series along; the audit log keeps every change."""
    form = await request.form()
    new, note = str(form.get("status", "")), str(form.get("note", "") or "")
    with ctx.store.transaction() as session:
        series = series_in_reach(session, ctx.me, series_id, write=True)
        changed = set_series_status(session, ctx.me, series, new, note)
        label = series.label
    shown = new.replace("_", " ")
    text = f"Series {label} is now {shown}." if changed else f"Series {label} was already {shown}."
    return done(f"/series#series-{series_id}", text)
