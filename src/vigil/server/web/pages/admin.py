"""The audit log (supervisor, auditor), staff welfare (supervisor), and users, tokens, peers
and the break threshold (admin).

Tokens and peers go through the workflows the API and `vigil peer` use, so each
change is audited the same way; a new token's secret is shown once, on the page that answers
the form, and never stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from vigil.errors import UsageError
from vigil.server.policy import ROLES, Permission
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.queries.records import audit_page
from vigil.server.web.render import PageContext, render
from vigil.workflows.federation.node import add_peer, list_peers, set_peer_status
from vigil.workflows.operation.accounts import add_user, disable_user, list_users
from vigil.workflows.operation.audit import verify_audit
from vigil.workflows.operation.credentials import (
    MAX_TOKEN_DAYS,
    issue_token,
    list_tokens,
    revoke_token,
)
from vigil.workflows.welfare.exposure import agency_exposure, agency_threshold, set_threshold

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _audit(ctx: PageContext, page_number: int, check: Any) -> HTMLResponse:
    with ctx.store.reading() as session:
        result = audit_page(session, ctx.me, page_number)

    pager_url = ctx.pager("/audit")

    return render(ctx, "audit.html", "Audit log", page=result, pager_url=pager_url, check=check)


@router.get("/audit")
def audit_log(
    page_number: int = Query(1, alias="page", ge=1, le=1000000),
    ctx: PageContext = Depends(page(Permission.AUDIT)),
) -> HTMLResponse:
    return _audit(ctx, page_number, None)


@router.post("/audit/verify")
def verify(ctx: PageContext = Depends(page(Permission.AUDIT))) -> HTMLResponse:
    return _audit(ctx, 1, verify_audit(ctx.store))


@router.get("/welfare")
def welfare(ctx: PageContext = Depends(page(Permission.SEE_EXPOSURE))) -> HTMLResponse:
    with ctx.store.reading() as session:
        meters = agency_exposure(session, ctx.me)
        threshold = agency_threshold(session, ctx.me.agency_id)
    return render(ctx, "welfare.html", "Staff welfare", meters=meters, threshold=threshold)


def _admin(ctx: PageContext, **shown: Any) -> HTMLResponse:
    users = list_users(ctx.store, ctx.me.agency_code)
    with ctx.store.reading() as session:
        threshold = agency_threshold(session, ctx.me.agency_id)
    response = render(
        ctx,
        "admin.html",
        "Users and settings",
        users=users,
        roles=ROLES,
        threshold=threshold,
        tokens=list_tokens(ctx.store, ctx.me),
        peers=list_peers(ctx.store, ctx.me),
        max_token_days=MAX_TOKEN_DAYS,
        **shown,
    )
    response.headers["cache-control"] = "no-store"  # a new token's secret is on this page once
    return response


@router.get("/admin")
def admin(ctx: PageContext = Depends(page(Permission.ADMINISTER))) -> HTMLResponse:
    return _admin(ctx)


def _field(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


@router.post("/admin/tokens")
async def new_token(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> HTMLResponse:
    """The secret is shown on the page this post answers, once; only its digest is kept."""
    form = await request.form()
    days = _field(form, "days") or "30"
    if not days.isdigit():
        raise UsageError("a token lives a whole number of days")
    made = issue_token(
        ctx.store, ctx.me, _field(form, "name"), int(days), _field(form, "username") or None
    )
    ctx.flashes.append(("ok", f"Token {made.name} made. Copy it now: it is not shown again."))
    return _admin(ctx, new_token=made, new_token_user=_field(form, "username") or ctx.me.username)


@router.post("/admin/tokens/revoke")
async def revoke(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> Response:
    form = await request.form()
    name, username = _field(form, "name"), _field(form, "username")
    revoke_token(ctx.store, ctx.me, name, username or None)
    return done("/admin", f"Token {name} of {username or ctx.me.username} revoked.")


@router.post("/admin/peers")
async def new_peer(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> Response:
    form = await request.form()
    per_hour = _field(form, "selectors_per_hour")
    if per_hour and not per_hour.isdigit():
        raise UsageError("selectors per hour is a whole number")
    peer = add_peer(
        ctx.store,
        ctx.me,
        _field(form, "code"),
        _field(form, "url"),
        _field(form, "public_key"),
        country=_field(form, "country") or None,
        selectors_per_hour=int(per_hour) if per_hour else None,
    )
    return done("/admin", f"Peer {peer.code} at {peer.url} pinned with its signing key.")


@router.post("/admin/peers/{code}/{action}")
def peer_status(
    code: str,
    action: str = Path(pattern="^(disable|enable)$"),
    ctx: PageContext = Depends(page(Permission.ADMINISTER)),
) -> Response:
    peer = set_peer_status(ctx.store, ctx.me, code, "active" if action == "enable" else "disabled")
    if peer.status == "active":
        return done("/admin", f"Peer {peer.code} is active again.")
    return done("/admin", f"Peer {peer.code} is disabled: nothing is exchanged with it now.")


@router.post("/admin/users")
async def new_user(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> Response:
    form = await request.form()
    username = _field(form, "username")
    add_user(ctx.store, ctx.me, username, _field(form, "role"), str(form.get("password", "")))
    return done("/admin", f"User {username} added.")


@router.post("/admin/users/{username}/disable")
def disable(username: str, ctx: PageContext = Depends(page(Permission.ADMINISTER))) -> Response:
    disable_user(ctx.store, ctx.me, username)
    return done("/admin", f"User {username} disabled; their sessions and tokens stop working.")


@router.post("/admin/welfare")
async def threshold(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> Response:
    form = await request.form()
    try:
        reveals, minutes = (
            int(str(form.get("reveals_per_day"))),
            int(str(form.get("minutes_per_day"))),
        )
    except ValueError:
        return done("/admin", "The threshold must be two whole numbers.", "error")
    with ctx.store.transaction() as session:
        set_threshold(session, ctx.me, reveals, minutes)
    return done("/admin", f"Break threshold: {reveals} files or {minutes} minutes a day.")
