"""The application factory: ``create_app(store, settings)`` gives the whole server.

The JSON API lives under ``/api`` with its OpenAPI document at ``/api/openapi.json``. Web pages
add their own router with ``app.include_router``; a router with its own authentication (the
federation endpoints, signed by peers) goes through ``include_own_auth``, which records its
prefix so that the authorisation matrix test leaves it to that router's own tests.

Queued jobs run in a thread of the server while it is up (``settings.run_jobs``); a test that
does not enter the app's lifespan drains them itself with ``app.state.job_runner``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from vigil import __version__
from vigil.peer_api.router import build_router
from vigil.server.api import ROUTERS
from vigil.server.api.network import RankCache
from vigil.server.api.review import ReviewQueue
from vigil.server.auth import public
from vigil.server.errors import install_error_handlers
from vigil.server.headers import SecurityHeaders
from vigil.server.settings import ServerSettings
from vigil.server.throttle import LoginThrottle
from vigil.server.uploads import FormBodyLimit
from vigil.server.web import install_web
from vigil.store.db import Store
from vigil.workflows.federation.peering import API_PREFIX
from vigil.workflows.operation.job_runner import JobRunner
from vigil.workflows.operation.jobs import requeue_running


def create_app(store: Store, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    store.require_initialised()

    runner = JobRunner(
        store,
        lease=settings.job_lease,
        poll_seconds=settings.job_poll_seconds,
        probes=settings.triage_probes,
        hashing_processes=settings.hashing_processes,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_jobs:
            if store.dialect == "sqlite":
                requeue_running(store)  # one server per SQLite file: no other runner is alive
            runner.start()
        # The review queue takes seconds to compute: do it before the first analyst asks.
        warm = threading.Thread(target=app.state.review_queue.refresh, args=(store,))
        warm.start()
        yield
        warm.join()
        settle_recomputations(app)
        runner.stop()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.own_auth_prefixes = []
    app.state.rank_cache = RankCache()
    app.state.review_queue = ReviewQueue()
    app.state.job_runner = runner
    app.state.login_throttle = LoginThrottle(
        settings.login_failures_before_delay,
        settings.login_failures_before_refusal,
        settings.login_failure_window,
        settings.login_delay_seconds,
    )
    install_error_handlers(app)
    app.add_middleware(FormBodyLimit, upload_limit=settings.upload_limit_bytes)
    app.add_middleware(SecurityHeaders)
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)
    include_own_auth(app, build_router(store), API_PREFIX)  # peers sign their requests

    @app.get("/api/health", dependencies=[Depends(public)], tags=["server"])
    def health() -> dict[str, Any]:
        """Liveness, and the benchmark's anchor: touches nothing."""
        return {"ok": True, "version": __version__}

    return app


def settle_recomputations(app: FastAPI) -> None:
    """Wait for the derived views being recomputed in the background (the review queue, the
    ranking, the network pages) to finish: a server shutting down, or a test about to drop
    its database, must not leave a thread reading it."""
    app.state.review_queue.settle()
    app.state.rank_cache.settle()
    app.state.network_views.settle()


def include_own_auth(app: FastAPI, router: APIRouter, prefix: str) -> None:
    """Include a router that authenticates its own requests (no session, no CSRF)."""
    app.include_router(router, prefix=prefix)
    app.state.own_auth_prefixes.append(prefix)
