"""Opening a store: one engine, SQLite or PostgreSQL, behind the same models and migrations.

SQLite is the embedded default: WAL so readers never block the writer, foreign keys on, and
``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way. PostgreSQL is the
multi-user server store, reached through psycopg 3.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vigil.errors import Busy, NotFound, StoreError, UsageError
from vigil.store.constants import DEFAULT_URL

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def database_reason(exc: BaseException) -> str:
    """The driver's own first line: not libpq's hint line, not SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def json_text(value: Any) -> str:
    """A JSON column's stored text, the same on every store.

    Ingest writes a JSON value for every sighting and event; ``json.dumps`` costs about ten
    times orjson's encoder and was a tenth of the writer's time. orjson is asked to refuse
    dates and dataclasses, as ``json.dumps`` does (it still writes UUIDs and enums, which
    Vigil never stores); what it cannot write itself (an integer beyond 64 bits) is written
    by ``json.dumps``, so no value that was stored before is refused now. Not-a-number and
    the infinities are written as ``null`` either way: PostgreSQL refuses ``NaN`` in JSON.
    """
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(_finite(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def normalise_url(url: str) -> str:
    """Accept a bare file path as SQLite and plain ``postgresql://`` as psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# SQLite's page cache per connection, in KiB (a negative cache_size). The default, 2 MiB, is
# far below the indexes a bulk ingest updates (sightings and events carry four each): beyond
# a few tens of thousands of reports every insert read index pages back through the OS, and a
# 100,000-report ingest took 13% longer (median of five runs, docs/benchmarks.md). Pages are
# taken as used, so a connection that reads little holds little.
SQLITE_CACHE_KIB = 65_536


# The page size of a new SQLite store, in bytes (an existing one keeps its own). A commit
# writes every page it touched to the WAL, and an ingest touches the pages of the indexes
# keyed by selector or file all over: with 8 KiB pages instead of SQLite's 4 KiB, commits
# took a tenth less time and a 100,000-report ingest 4% less (docs/benchmarks.md).
SQLITE_PAGE_BYTES = 8192


def _sqlite_null(_value: None) -> None:
    """SQLite's adapter for None (``make_engine``): NULL, as without it, found at once.

    The sqlite3 driver sends each parameter that is not exactly an int, float, str or
    bytearray through its adapter registry, and a None, for which it finds none, then
    through two attribute lookups more: 0.2 µs a value. An ingest binds a score of NULLs a
    report (an event's absent target, room, file or text), so that was a twentieth of the
    writer's time.
    """
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's transaction control the BEGIN, so that we can make it IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # a new store only
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


# The execution option of a SQLite transaction whose writer checks its own references
# (``Store.transaction``).
WRITER_CHECKS_REFERENCES = "vigil_writer_checks_references"


def _sqlite_begin(conn: Any) -> None:
    # Every transaction says whether SQLite checks its references, so a pooled connection
    # never carries one transaction's choice into the next (the pragma is a no-op inside one).
    checked = not conn.get_execution_options().get(WRITER_CHECKS_REFERENCES, False)
    conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if checked else 'OFF'}")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_checkin(dbapi_connection: Any, _record: Any) -> None:
    # Back in the pool with its checks on, so not even a raw driver connection taken from
    # it later runs without them (the next BEGIN sets them again anyway).
    if dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def references_unchecked(session: Session) -> bool:
    """Whether the store leaves this session's references to its writer
    (``Store.transaction(writer_checks_references=True)`` on SQLite)."""
    options = session.connection().get_execution_options()
    return bool(options.get(WRITER_CHECKS_REFERENCES, False))


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}") from exc
    kwargs: dict[str, Any] = {"json_serializer": json_text}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise UsageError(f"no such directory for the database: {parent}")
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise UsageError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        sqlite3.register_adapter(type(None), _sqlite_null)  # process-wide; the same NULL
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "checkin", _sqlite_checkin)
    return engine


@dataclass(frozen=True)
class Actor:
    """Who is acting: every write is attributed to one user of one agency."""

    user_id: int
    username: str
    agency_id: int
    agency_code: str
    role: str

    @property
    def label(self) -> str:
        return f"{self.agency_code}/{self.username}"


class Store:
    """An opened database. Workflows take one and use ``transaction()`` for every write."""

    def __init__(self, url: str = DEFAULT_URL, *, index_root: Path | None = None):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.index_root = index_root  # where a server store's match index is cached
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={"index_root": index_root}
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def analyze(self, *tables: str) -> None:
        """Fresh planner statistics for ``tables`` on PostgreSQL; nothing elsewhere.

        PostgreSQL plans a lookup from the statistics it last took of a table. A table that
        has grown tenfold since is planned as if it were tiny: the ingest's batched lookup of
        a thousand selectors then filters every selector of that kind against the whole list
        (300 ms at 10,000 rows, growing with the table) instead of probing the index."""
        if self.dialect != "postgresql":
            return
        try:
            with self.engine.begin() as connection:
                # a migration or a long autovacuum holding the table is waited for briefly,
                # not for as long as it runs: this is a speed-up, never a reason to stop
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                connection.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
        except SQLAlchemyError as exc:
            log.warning("could not refresh statistics of %s: %s", ", ".join(tables), exc)

    @contextmanager
    def transaction(self, *, writer_checks_references: bool = False) -> Iterator[Session]:
        """One unit of work: commits on success, rolls everything back on any error.

        ``writer_checks_references``: on SQLite, the transaction runs without the per-row
        foreign key checks, and the writer answers for every id it writes instead (see
        ``references_unchecked``). Only the bulk ingest asks for it. Every id it writes was
        read or created in the same transaction, under SQLite's write lock; or is a selector
        id it remembered from an earlier one, which it confirms again in this one
        (``workflows.sources.ingest_writer``); or names the case, agency or user the ingest
        began with, rows that Vigil never deletes; and the hash entries its matches name are
        confirmed (``workflows.media.matching``). The checks were a tenth of that writer's
        time (docs/benchmarks.md). PostgreSQL keeps its checks: its
        statement triggers check each bulk statement's distinct ids in one pass.
        """
        session = self._sessions()
        try:
            with session.begin():
                if writer_checks_references and self.dialect == "sqlite":
                    session.connection(execution_options={WRITER_CHECKS_REFERENCES: True})
                yield session
        except OperationalError as exc:
            raise StoreError(f"database error: {database_reason(exc)}") from exc
        except IntegrityError as exc:
            # Two processes wrote the same rows at once; the loser's transaction rolled back.
            raise Busy(
                "another process wrote the same records at the same time; nothing of this "
                f"step was kept, run the command again ({database_reason(exc)})"
            ) from exc
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except OperationalError as exc:
            raise StoreError(f"database error: {database_reason(exc)}") from exc
        finally:
            session.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command

        try:
            with self.engine.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot migrate {self.safe_url}: {database_reason(exc)}") from exc

    def is_initialised(self) -> bool:
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if database and database != ":memory:" and not Path(database).exists():
                return False  # do not create an empty file just by looking
        try:
            return inspect(self.engine).has_table("agency")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open {self.safe_url}: {database_reason(exc)}") from exc

    def require_initialised(self) -> None:
        if not self.is_initialised():
            raise NotFound(f"no Vigil database at {self.safe_url}; run `vigil init --agency CODE`")

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config
