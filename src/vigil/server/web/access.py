"""Who may see a page, on the server's own sign-in and role table.

A page names its permission like an API route does (``page(Permission.X)``): the request is
signed in by the session cookie, the role is asked of ``vigil.server.policy``, and a form post
must carry the CSRF token (the browser has it from sign-in, in an HttpOnly cookie the pages
write into their forms). Errors become pages rather than JSON: not signed in goes to the
sign-in page, anything else is a short page with the one-line message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from vigil.errors import Forbidden, NotSignedIn, VigilError
from vigil.server.auth import SAFE_METHODS, signed_in, store_of
from vigil.server.policy import Permission, may
from vigil.server.web.render import PageContext, render
from vigil.workflows.operation.credentials import same_secret

CSRF_COOKIE = "vigil_csrf"
FLASH_COOKIE = "vigil_flash"
FLASH_KINDS = ("ok", "info", "error")


class PageRoute(APIRoute):
    """Turns Vigil errors raised by a page into HTML (or a redirect to sign in)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn:
                target = request.url.path if request.method in SAFE_METHODS else "/"
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            except VigilError as exc:
                ctx = anonymous(request)
                with contextlib.suppress(VigilError):
                    ctx = await _context(request, None, check_csrf=False)
                return render(
                    ctx,
                    "error.html",
                    "Problem",
                    status_code=exc.http_status,
                    message=" ".join(str(exc).split()),
                    status=exc.http_status,
                )

        return page_handler


def anonymous(request: Request) -> PageContext:
    return PageContext(request, None, None, store_of(request))


def _flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE, "")
    kind, _, text = raw.partition(":")
    return [(kind, text)] if kind in FLASH_KINDS and text else []


async def _context(
    request: Request, permission: Permission | None, *, check_csrf: bool = True
) -> PageContext:
    who = signed_in(request)
    csrf = request.cookies.get(CSRF_COOKIE)
    if check_csrf and request.method not in SAFE_METHODS:
        form = await request.form()
        token = form.get("csrf_token")
        if not isinstance(token, str) or who.csrf_hash is None:
            raise Forbidden("this form has expired; reload the page and try again")
        if not same_secret(token, who.csrf_hash):
            raise Forbidden("this form has expired; reload the page and try again")
    if permission is not None and not may(who.actor.role, permission):
        raise Forbidden(f"the {who.actor.role} role may not: {permission.value}")
    request.state.actor = who.actor
    return PageContext(request, who.actor, csrf, store_of(request), _flashes(request))


class Page:
    """The dependency of a page route: the signed-in context, if the role may."""

    def __init__(self, permission: Permission):
        self.permission = permission

    async def __call__(self, request: Request) -> PageContext:
        return await _context(request, self.permission)


_PAGES = {permission: Page(permission) for permission in Permission}


def page(permission: Permission) -> Page:
    return _PAGES[permission]


def done(location: str, text: str, kind: str = "ok") -> RedirectResponse:
    """After a form post: back to a page, with a one-line message shown once."""
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        FLASH_COOKIE, f"{kind}:{text}"[:300], max_age=30, httponly=True, samesite="strict"
    )
    return response


def consume_flash(response: Response, ctx: PageContext) -> Response:
    if ctx.flashes:
        response.delete_cookie(FLASH_COOKIE)
    return response
