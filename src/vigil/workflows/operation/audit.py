"""Checking the audit chain."""

from __future__ import annotations

from vigil.store.audit import ChainReport, verify_chain
from vigil.store.db import Store


def verify_audit(store: Store) -> ChainReport:
    store.require_initialised()
    with store.reading() as session:
        return verify_chain(session)
