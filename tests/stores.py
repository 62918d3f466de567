"""The stores tests start from: every fixture store and every store a test opens beside one."""

from __future__ import annotations

from pathlib import Path

from tests.actors import admin_actor
from vigil.store.db import Store
from vigil.workflows.operation.setup import init_store, open_case

ADMIN_PASSWORD = "test-password"


def initialised_store(url: str, index_root: Path | None = None) -> Store:
    """A store at ``url`` with agency TEST, its admin, and case CASE-1."""
    opened = Store(url, index_root=index_root)
    init_store(opened, "TEST", "Test Unit", "CA", ADMIN_PASSWORD)
    open_case(opened, admin_actor(opened), "CASE-1", "fixture case")
    return opened
