"""Who the tests act as: workflows take the acting user explicitly, as the CLI and server do."""

from __future__ import annotations

from vigil.store.db import Actor, Store
from vigil.workflows.operation.setup import find_actor


def admin_actor(store: Store, agency: str | None = None) -> Actor:
    """The local admin that ``init_store`` made (of ``agency`` when several share a store)."""
    return find_actor(store, f"{agency}/admin" if agency else "admin")
