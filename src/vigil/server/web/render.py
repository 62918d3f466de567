"""Rendering pages: the Jinja2 environment, asset URLs, navigation by role, and the header
every signed-in page carries (the person's exposure meter; for a supervisor, how many of the
staff are past the break threshold)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vigil.errors import NotSignedIn
from vigil.server.policy import Permission, may
from vigil.store.db import Actor, Store
from vigil.workflows.welfare.exposure import Exposure, agency_exposure, my_exposure

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    permission: Permission


# The navigation, in order; each entry shows only to roles holding its permission.
NAVIGATION = (
    NavItem("/", "Overview", Permission.READ),
    NavItem("/cases", "Cases", Permission.READ),
    NavItem("/files", "Files", Permission.READ),
    NavItem("/series", "Series", Permission.READ),
    NavItem("/subjects", "Subjects", Permission.READ),
    NavItem("/links/review", "Review links", Permission.REVIEW_LINKS),
    NavItem("/network", "Network", Permission.READ),
    NavItem("/referrals", "Referrals", Permission.READ),
    NavItem("/welfare", "Staff welfare", Permission.SEE_EXPOSURE),
    NavItem("/audit", "Audit log", Permission.AUDIT),
    NavItem("/admin", "Users and settings", Permission.ADMINISTER),
)


@cache
def _manifest() -> dict[str, str]:
    try:
        data: dict[str, str] = json.loads((STATIC_DIR / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def asset(name: str) -> str:
    """The URL of a built static file, versioned by its content hash."""
    version = _manifest().get(name)
    return f"/static/{name}" + (f"?v={version}" if version else "")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["short"] = lambda text: f"{text[:12]}…" if text and len(text) > 13 else text
    return env


ENVIRONMENT = _environment()


@dataclass
class PageContext:
    """Who is looking, and what every page's header needs."""

    request: Request
    actor: Actor | None
    csrf: str | None
    store: Store
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def me(self) -> Actor:
        """The signed-in actor (a page route's context always has one)."""
        if self.actor is None:
            raise NotSignedIn("sign in first")
        return self.actor

    def may(self, permission: Permission) -> bool:
        return self.actor is not None and may(self.actor.role, permission)

    def url(self, path: str, **changes: Any) -> str:
        """This page's query string with ``changes`` applied (for sort links and pagers)."""
        params = {k: v for k, v in self.request.query_params.items() if k != "flash"}
        params.update({k: str(v) for k, v in changes.items() if v is not None})
        query = urlencode({k: v for k, v in params.items() if v != ""})
        return f"{path}?{query}" if query else path

    def pager(self, path: str) -> Callable[..., str]:
        """``url`` bound to ``path``: what the sort headers and pagers of a list call."""
        return functools.partial(self.url, path)


def _header(ctx: PageContext) -> dict[str, Any]:
    if ctx.actor is None:
        return {"exposure": None, "staff_over": 0}
    exposure: Exposure | None = None
    staff_over = 0
    with ctx.store.reading() as session:
        if ctx.may(Permission.REVEAL):
            exposure = my_exposure(session, ctx.actor)
        if ctx.may(Permission.SEE_EXPOSURE):
            staff_over = sum(
                1
                for meter in agency_exposure(session, ctx.actor)
                if meter.over_threshold and meter.user_id != ctx.actor.user_id
            )
    return {"exposure": exposure, "staff_over": staff_over}


def render(
    ctx: PageContext, template: str, title: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    path = ctx.request.url.path
    nav = [
        {
            "href": item.href,
            "label": item.label,
            "current": path == item.href or (item.href != "/" and path.startswith(item.href)),
        }
        for item in NAVIGATION
        if ctx.may(item.permission)
    ]
    watched = ctx.request.query_params.get("job", "")
    html = ENVIRONMENT.get_template(template).render(
        watch_job=int(watched) if watched.isdigit() else None,
        title=title,
        user=ctx.actor,
        csrf=ctx.csrf,
        nav=nav,
        flashes=ctx.flashes,
        ctx=ctx,
        Permission=Permission,
        **_header(ctx),
        **values,
    )
    return HTMLResponse(html, status_code=status_code)
