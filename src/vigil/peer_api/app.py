"""A FastAPI app serving only the peer endpoints: a node that is not (yet) a full server."""

from __future__ import annotations

from fastapi import FastAPI

from vigil.peer_api.router import build_router
from vigil.store.db import Store
from vigil.workflows.federation.peering import API_PREFIX


def create_peer_app(store: Store) -> FastAPI:
    app = FastAPI(
        title="Vigil federation node",
        openapi_url="/federation/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(build_router(store), prefix=API_PREFIX)
    return app
