"""Signing in and out through the page, on the server's own sign-in (throttled like the API)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vigil.errors import NotSignedIn, TooManyAttempts
from vigil.server.api.accounts import sign_in, sign_out
from vigil.server.auth import public
from vigil.server.policy import Permission
from vigil.server.web.access import PageRoute, anonymous, page
from vigil.server.web.render import PageContext, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never //host or a scheme) is a place to go back to."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", dependencies=[Depends(public)])
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(
        anonymous(request), "signin.html", "Sign in", next=_safe_next(next), agency="", username=""
    )


@router.post("/login", dependencies=[Depends(public)])
async def login(request: Request) -> Response:
    form = await request.form()
    agency, username = str(form.get("agency", "")), str(form.get("username", ""))
    target = _safe_next(str(form.get("next", "/")))
    response = RedirectResponse(target, status_code=303)
    try:
        actor = sign_in(request, response, agency, username, str(form.get("password", "")))
    except (NotSignedIn, TooManyAttempts) as exc:
        ctx = anonymous(request)
        ctx.flashes.append(("error", str(exc)))
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        return render(
            ctx, "signin.html", "Sign in", status, next=target, agency=agency, username=username
        )
    if actor.role == "admin" and target == "/":
        response.headers["location"] = "/admin"
    return response


@router.post("/logout")
def logout(request: Request, ctx: PageContext = Depends(page(Permission.SIGNED_IN))) -> Response:
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, response, ctx.me)
    return response
