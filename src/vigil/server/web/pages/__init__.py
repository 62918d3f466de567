"""The page routes, one module per area; ``ROUTERS`` is what the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from vigil.server.web.pages import (
    admin,
    evidence,
    files,
    network,
    overview,
    referrals,
    review,
    signin,
    subjects,
)

ROUTERS: list[APIRouter] = [
    signin.router,
    overview.router,
    evidence.router,
    files.router,
    subjects.router,
    review.router,
    network.router,
    referrals.router,
    admin.router,
]
