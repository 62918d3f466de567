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
from vigil.store.models import (
    AuditEntry,
    Event,
    File,
    HashEntry,
    HashSet,
    Selector,
    Sighting,
    Source,
)

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
def mariadb_database() -> Iterator[str]:
    """A fresh, uniquely named MariaDB database (dropped afterwards); skips or fails like PG."""
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
    try:
        yield MARIADB_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@contextmanager
def mariadb_board(prefix: str = "phpbb_") -> Iterator[str]:
    """The fixture board loaded into a fresh MariaDB database."""
    with mariadb_database() as url:
        board = create_engine(url)
        with board.begin() as connection:
            for statement in board_statements(prefix):
                connection.execute(text(statement))
        board.dispose()
        yield url


@contextmanager
def mariadb_copy_of(sqlite_board: Path, prefix: str) -> Iterator[str]:
    """A phpBB SQLite file (as synth writes it) copied into a fresh MariaDB database: the
    tables and columns Vigil reads, integers as BIGINT and everything else as TEXT."""
    import sqlite3

    from vigil.formats.phpbb import COLUMNS, OPTIONAL_COLUMNS, OPTIONAL_USER_COLUMNS

    source = sqlite3.connect(f"file:{sqlite_board}?mode=ro", uri=True)
    with mariadb_database() as url:
        board = create_engine(url)
        with board.begin() as connection:
            for short, columns in {**COLUMNS, **OPTIONAL_COLUMNS}.items():
                extra_columns = {"attachments": ("sha256",), "users": OPTIONAL_USER_COLUMNS}
                names = [*columns, *extra_columns.get(short, ())]
                rows = source.execute(f"SELECT {', '.join(names)} FROM phpbb_{short}").fetchall()
                kinds = [
                    "BIGINT" if rows and all(isinstance(r[i], int) for r in rows) else "TEXT"
                    for i in range(len(names))
                ]
                connection.execute(
                    text(
                        f"CREATE TABLE {prefix}{short} ("
                        + ", ".join(f"{n} {k}" for n, k in zip(names, kinds, strict=True))
                        + ")"
                    )
                )
                if rows:
                    connection.execute(
                        text(
                            f"INSERT INTO {prefix}{short} VALUES "
                            f"({', '.join(':' + n for n in names)})"
                        ),
                        [dict(zip(names, row, strict=True)) for row in rows],
                    )
        board.dispose()
        source.close()
        yield url


def row_counts(store: Store) -> dict[str, int]:
    """How many rows each table ingest writes holds: "nothing written" compares these."""
    with store.reading() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Source, Selector, Sighting, Event, File, HashSet, HashEntry, AuditEntry)
        }


def many_accounts_report(count: int, first: int = 0) -> str:
    """One CyberTipline document naming ``count`` accounts (numbered from ``first``), each
    with its own address."""
    reports = "".join(
        f"<report><reportId>S-{n}</reportId><incidentSummary><incidentType>Apparent prohibited "
        "media (synthetic test data)</incidentType><incidentDateTime>2023-05-01T10:00:00Z"
        "</incidentDateTime></incidentSummary><personOrUserReported><personOrUserReportedPerson>"
        f"<email>user{n}@mailbox.example</email></personOrUserReportedPerson>"
        f"<espService>Pixelshare</espService><screenName>user_{n}</screenName>"
        f"<ipCaptureEvent><ipAddress>81.2.{n // 250 % 256}.{n % 250 + 1}</ipAddress>"
        "<eventName>Upload</eventName><dateTime>2023-05-01T10:00:00Z</dateTime>"
        "</ipCaptureEvent></personOrUserReported></report>"
        for n in range(first, first + count)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<reports>{reports}</reports>\n'
