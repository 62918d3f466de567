"""The JSON API under ``/api``: one router per area, each route naming its permission."""

from __future__ import annotations

from fastapi import APIRouter

from vigil.server.api import (
    accounts,
    audit,
    cases,
    files,
    network,
    referrals,
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
    audit.router,
    welfare.router,
]
