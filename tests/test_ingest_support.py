"""Helpers the ingest and source-format tests share (no tests of its own).

The phpBB fixture is SQL text (``tests/data/sources/phpbb/board.sql``) so the very same board
can be loaded into a SQLite file and into the real MariaDB server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from vigil.store.db import Store
from vigil.store.models import AuditEntry, Event, File, Selector, Sighting, Source

SOURCES = Path(__file__).parent / "data" / "sources"
MARIADB_URL = os.environ.get("VIGIL_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def board_statements(prefix: str = "phpbb_") -> list[str]:
    sql = (SOURCES / "phpbb" / "board.sql").read_text().replace("{prefix}", prefix)
    return [statement.strip() for statement in sql.split(";\n") if statement.strip()]


def build_phpbb_sqlite(path: Path, prefix: str = "phpbb_") -> Path:
    import sqlite3

    connection = sqlite3.connect(path)
    for statement in board_statements(prefix):
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path


@contextmanager
def mariadb_board(prefix: str = "phpbb_") -> Iterator[str]:
    """A fresh MariaDB database holding the fixture board; dropped afterwards."""
    try:
        admin = create_engine(MARIADB_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as exc:
        message = f"MariaDB not reachable at {MARIADB_URL}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"vigil_ingest_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}`"))
    url = MARIADB_URL.rsplit("/", 1)[0] + f"/{name}"
    board = create_engine(url)
    try:
        with board.begin() as connection:
            for statement in board_statements(prefix):
                connection.execute(text(statement))
        board.dispose()
        yield url
    finally:
        board.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def row_counts(store: Store) -> dict[str, int]:
    """How many rows each table ingest writes holds: "nothing written" compares these."""
    with store.reading() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Source, Selector, Sighting, Event, File, AuditEntry)
        }
