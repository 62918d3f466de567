"""Shared fixtures. Store tests run on SQLite and on the real PostgreSQL server.

PostgreSQL: ``VIGIL_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Each test gets its own schema, dropped afterwards. Under CI (``CI`` set) an unreachable
server fails the run; on a laptop without one those tests skip and say how to enable them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.stores import ADMIN_PASSWORD, initialised_store
from vigil.server.derived import DERIVED_VIEW_THREAD
from vigil.store.db import Store

PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_HINT = (
    "PostgreSQL not reachable at {url}: start it (pg_ctlcluster --skip-systemctl-redirect "
    "$(ls /etc/postgresql) main start) or point VIGIL_TEST_PG_URL at a server with trust auth"
)

_pg_checked: dict[str, str | None] = {}
REBUILD_PATIENCE_SECONDS = 300  # a rebuild at test scale takes well under a second


def _pg_problem() -> str | None:
    if "result" not in _pg_checked:
        try:
            engine = create_engine(PG_URL)
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            engine.dispose()
            _pg_checked["result"] = None
        except OperationalError as exc:
            _pg_checked["result"] = f"{PG_HINT.format(url=PG_URL)} ({exc.orig})"
    return _pg_checked["result"]


def require_postgres() -> None:
    problem = _pg_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of its own."""
    with fresh_pg_schema() as url:
        yield url


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL on a new schema of the test database, dropped afterwards (``pg_url``; a test
    that needs two stores in one database makes a second)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    _settle_derived_views()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _settle_derived_views() -> None:
    """Wait for any derived view a server is still rebuilding in the background
    (``vigil.server.derived``): its reads would hold locks that DROP SCHEMA waits on, while
    the drop holds locks those reads wait on, and PostgreSQL would end one as a deadlock."""
    for thread in threading.enumerate():
        if thread.name == DERIVED_VIEW_THREAD:
            thread.join(REBUILD_PATIENCE_SECONDS)
            if thread.is_alive():  # fail the test rather than hang the run
                pytest.fail(f"a derived view still rebuilding after {REBUILD_PATIENCE_SECONDS} s")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vigil.db'}"
    return request.getfixturevalue("pg_url")


def _opened(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A fixture store at ``url``, named in the environment for tests that run ``vigil``."""
    monkeypatch.setenv("VIGIL_DB", url)
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    opened = initialised_store(url, index_root=tmp_path / "index-cache")
    yield opened
    opened.dispose()


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An initialised store with agency TEST, its admin, and case CASE-1; on both databases."""
    yield from _opened(db_url, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The same as ``store`` on SQLite only, for tests that are not about the database."""
    yield from _opened(f"sqlite:///{tmp_path / 'vigil.db'}", tmp_path, monkeypatch)


@pytest.fixture
def pg_store(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The same as ``store`` on PostgreSQL only, for what SQLite cannot show (two writers)."""
    yield from _opened(pg_url, tmp_path, monkeypatch)
