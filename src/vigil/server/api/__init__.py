"""The JSON API under ``/api``: one router per area, each route naming its permission."""

from __future__ import annotations

from fastapi import APIRouter

from vigil.server.api import (
    accounts,
    audit,
    cases,
    decisions,
    deconfliction,
    files,
    jobs,
    network,
    referrals,
    review,
    subjects,
    welfare,
)

ROUTERS: list[APIRouter] = [
    accounts.router,
    cases.router,
    subjects.router,
    network.router,
    files.router,
    referrals.router,
    deconfliction.router,
    audit.router,
    jobs.router,
    decisions.router,
    review.router,
    welfare.router,
]
