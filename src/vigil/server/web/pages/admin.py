"""The audit log (supervisor, auditor), staff welfare (supervisor), and users, tokens, peers
and the break threshold (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from vigil.server.policy import ROLES, Permission
from vigil.server.web.access import PageRoute, done, page
from vigil.server.web.queries.records import audit_page, list_peers
from vigil.server.web.render import PageContext, render
from vigil.store.models import ApiToken, User
from vigil.workflows.operation.accounts import add_user, disable_user, list_users
from vigil.workflows.operation.audit import verify_audit
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


@router.get("/admin")
def admin(ctx: PageContext = Depends(page(Permission.ADMINISTER))) -> HTMLResponse:
    users = list_users(ctx.store, ctx.me.agency_code)
    with ctx.store.reading() as session:
        threshold = agency_threshold(session, ctx.me.agency_id)
        peers = list_peers(session, ctx.me)
        tokens = [
            {
                "name": token.name,
                "username": username,
                "expires_at": token.expires_at,
                "revoked_at": token.revoked_at,
            }
            for token, username in session.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where(User.agency_id == ctx.me.agency_id)
                .order_by(ApiToken.created_at.desc())
            )
        ]
    return render(
        ctx,
        "admin.html",
        "Users and settings",
        users=users,
        roles=ROLES,
        threshold=threshold,
        tokens=tokens,
        peers=peers,
    )


@router.post("/admin/users")
async def new_user(
    request: Request, ctx: PageContext = Depends(page(Permission.ADMINISTER))
) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()
    add_user(ctx.store, ctx.me, username, str(form.get("role", "")), str(form.get("password", "")))
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
