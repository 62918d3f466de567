"""One writer per source: a lock that another process sees, and that dies with its holder.

Triage writes an exhibit in many transactions; two processes doing it at once would collide
on the same rows. ``exclusive`` holds a lock named by a key for as long as the work runs:

- PostgreSQL: a session advisory lock on a connection of its own (``pg_try_advisory_lock``),
  released by the server when the connection closes, however the process ends. Advisory
  locks are per database, so the number is taken from the key *and* the store's schema: two
  stores in one database (one schema each) both have a source 1, and must not hold each
  other up;
- SQLite: an ``fcntl`` record lock on one byte of ``<database>-writers``, released by the
  kernel when the process ends, even by ``kill -9``.

A second writer does not wait behind a run that may take hours: it is told at once that the
source is being written by another process (``Busy``, exit 2), and can run again later to
resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from vigil.errors import Busy
from vigil.store.db import Store

_SQLITE_LOCK_SLOTS = 1 << 30


def lock_number(key: str) -> int:
    """A 64-bit lock id for a key: PostgreSQL advisory locks are numbered."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(store: Store, key: str, what: str) -> Iterator[None]:
    """Hold the writer lock for ``key``; ``Busy`` naming ``what`` when another process has it."""
    if store.dialect == "postgresql":
        with store.engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
            number = lock_number(f"{schema}:{key}")
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": number}
            ).scalar()
            connection.commit()
            if not got:
                raise Busy(f"{what} is being ingested by another process; run again when it ends")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": number})
                connection.commit()
        return
    database = make_url(store.url).database
    if not database or database == ":memory:":
        yield
        return
    yield from _sqlite_lock(
        Path(f"{database}-writers"), lock_number(key) % _SQLITE_LOCK_SLOTS, what
    )


def _sqlite_lock(path: Path, offset: int, what: str) -> Iterator[None]:
    import fcntl
    import os

    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        except OSError as exc:
            raise Busy(
                f"{what} is being ingested by another process; run again when it ends"
            ) from exc
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)
    finally:
        os.close(handle)
