"""The writer lock for one source, shared by triage and ingest (``vigil.store.locks``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vigil.evidence.names import printable
from vigil.store.db import Store
from vigil.store.locks import exclusive


@contextmanager
def source_writer(store: Store, source_id: int, name: Path | str) -> Iterator[None]:
    with exclusive(store, f"source:{source_id}", printable(str(name))):
        yield
