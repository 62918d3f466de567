"""The web workspace: server-rendered pages on the same sign-in, roles and scoping as the
JSON API, with first-party scripts and styles (and libraries from the npm registry) served
from ``/static``. Nothing on a page comes from another origin, and no page renders evidence
media: only the reveal endpoints of the API do (docs/web.md)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vigil.server.web.pages import ROUTERS
from vigil.server.web.queries.network import NetworkCache
from vigil.server.web.render import STATIC_DIR


def install_web(app: FastAPI) -> None:
    app.state.network_views = NetworkCache()
    for router in ROUTERS:
        app.include_router(router)
    STATIC_DIR.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
