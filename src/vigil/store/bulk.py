"""Bulk reads and writes by the driver itself: the fast path of every large write.

Ingest and triage write tens of thousands of rows a minute. SQLAlchemy's per-row parameter
handling and its compiled expanding ``IN`` lists cost more than the statements themselves,
so these helpers hand the driver plain rows: ``executemany`` on SQLite, ``COPY`` or one
array parameter per column on PostgreSQL. Each applies the columns' own bind processors, so
what they store is what the ORM would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from vigil.store.db import json_text
from vigil.text import storable

CHUNK = 500  # values per IN list on SQLite (one array parameter on PostgreSQL: no limit)


def placeholder(connection: Connection) -> str:
    """The driver's parameter mark in a driver-level statement."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def driver_rows(connection: Connection, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """The driver's own rows (tuples) of a driver-level statement: SQLAlchemy's rows cost
    twice the fetch itself and add nothing where no column has a result processor."""
    result = connection.exec_driver_sql(statement, params)
    try:
        return list(result.cursor.fetchall())  # type: ignore[union-attr]
    finally:
        result.close()


def select_in(
    session: Session,
    table: str,
    columns: Sequence[str],
    conditions: Sequence[tuple[str, Any]],
    column: str,
    values: Sequence[Any],
    *,
    is_null: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Rows of ``table`` where ``column`` is one of ``values``, each of ``conditions`` holds
    (a value, or a list of allowed values) and the ``is_null`` columns are NULL.

    The lookup path of every ingest: raw driver SQL, with one array parameter per list on
    PostgreSQL (``= ANY``) and ``IN`` lists in chunks on SQLite. Compiling SQLAlchemy's
    expanding ``IN`` rendered every value into the statement and cost more than the query.
    No ORDER BY: with one, SQLite walks the table in id order instead of probing the index.
    """
    if not values:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    mark = placeholder(connection)

    def clause(name: str, value: Any, params: list[Any]) -> str:
        if not isinstance(value, list | tuple):
            params.append(value)
            return f"{name} = {mark}"
        if postgres:  # binary: psycopg dumps a long text array in half the time
            params.append(list(value))
            return f"{name} = ANY(%b)"
        params.extend(value)
        return f"{name} IN ({', '.join(mark for _ in value)})"

    found: list[tuple[Any, ...]] = []
    step = len(values) if postgres else CHUNK
    for start in range(0, len(values), step):
        params: list[Any] = []
        where = [clause(name, value, params) for name, value in conditions]
        where.append(clause(column, list(values[start : start + step]), params))
        where.extend(f"{name} IS NULL" for name in is_null)
        statement = f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(where)}"
        found.extend(driver_rows(connection, statement, tuple(params)))
    return found


def select_keys(
    session: Session,
    table: str,
    columns: Sequence[str],
    key_columns: Sequence[str],
    keys: Iterable[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """Rows of ``table`` whose ``key_columns`` equal one of ``keys`` (tuples, in that order).

    On PostgreSQL, one statement whatever the number of keys: the keys travel as one array
    per column and are joined to the table through ``unnest``, so each key is one probe of
    the table's index on those columns, and the server is asked once instead of once per
    group (each a round trip, which is most of a lookup's time on a local server). On SQLite
    a statement costs no round trip: the keys are grouped by all but their last column and
    each group is an ``IN`` list (``select_in``).
    """
    keys = sorted(set(keys))
    if not keys:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        names = [f"k{i}" for i in range(len(key_columns))]
        joined = " AND ".join(f"t.{c} = k.{n}" for c, n in zip(key_columns, names, strict=True))
        arrays = tuple(list(column) for column in zip(*keys, strict=True))
        casts = ", ".join(f"%b::{_key_array_type(array[0])}" for array in arrays)
        statement = (
            f"SELECT {', '.join(f't.{c}' for c in columns)} FROM {table} t "
            f"JOIN unnest({casts}) AS k({', '.join(names)}) ON {joined}"
        )
        return driver_rows(connection, statement, arrays)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    found: list[tuple[Any, ...]] = []
    for prefix, last_values in groups.items():
        conditions = list(zip(key_columns[:-1], prefix, strict=True))
        found.extend(select_in(session, table, columns, conditions, key_columns[-1], last_values))
    return found


def insert_returning(
    session: Session, model: Any, rows: list[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all of one shape, without ids) and return their ``returning``
    columns. Callers match them to their rows by value: PostgreSQL does not promise the
    order of ``RETURNING``.

    On PostgreSQL one statement does both: the rows travel as one array per column and go in
    through ``unnest`` with ``RETURNING``, where a ``COPY`` and a lookup would cost a round
    trip and an index probe per row more. SQLite's driver cannot return rows from a bulk
    insert, so there the ids are given here (``_insert_numbered``) and nothing is read back.
    """
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return _insert_numbered(session, model, rows, returning)
    columns = list(rows[0])
    table, dialect = model.__table__, connection.dialect
    arrays = [_column_values(table.c[name].type, dialect, rows, name) for name in columns]
    # each array as its column's own type, so a NULL or a naive time is exact
    casts = [f"%b::{_array_type(table.c[name].type, dialect)}" for name in columns]
    statement = (
        f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({', '.join(casts)}) RETURNING {', '.join(returning)}"
    )
    return driver_rows(connection, statement, tuple(arrays))


def _insert_numbered(
    session: Session, model: Any, rows: list[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """SQLite: each row gets the id SQLite itself would give it (one past the largest), so
    the ids need no reading back by value (half the time of a lookup-heavy ingest).

    Safe because every SQLite write transaction begins ``IMMEDIATE`` (``vigil.store.db``):
    it holds the write lock from its first statement, so no other writer can insert between
    the ``max`` and the insert (were one to, the ids would collide and the insert fail,
    never a row take another's id). The other columns come back as stored, as PostgreSQL's
    ``RETURNING`` gives them: text as ``storable`` made it.
    """
    connection = session.connection()
    last = connection.exec_driver_sql(f"SELECT max(id) FROM {model.__tablename__}").scalar()
    table, dialect = model.__table__, connection.dialect
    first = (last or 0) + 1
    cells = {"id": list(range(first, first + len(rows)))}
    for name in rows[0]:
        cells[name] = _column_values(table.c[name].type, dialect, rows, name)
    insert_values(session, model, list(cells), list(zip(*cells.values(), strict=True)))
    # Each column was converted once, above; text and ids come back as the driver took them.
    returned = [
        cells[name]
        if _converter(table.c[name].type, dialect) in (None, storable)
        else [storable(value) if isinstance(value, str) else value for value in _column(rows, name)]
        for name in returning
    ]
    return list(zip(*returned, strict=True))


def _column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows]


def _array_type(column_type: Any, dialect: Any) -> str:
    """A PostgreSQL array of ``column_type``'s values: its own type, so a NULL or a naive
    time goes in exactly, but text unbounded: a cast to ``varchar(n)`` would cut a longer
    value silently, where the insert refuses it as a ``COPY`` does."""
    if isinstance(column_type, String):
        return "text[]"
    return f"{column_type.compile(dialect=dialect)}[]"


def _key_array_type(value: Any) -> str:
    """A PostgreSQL array of lookup keys like ``value`` (text or whole numbers)."""
    if isinstance(value, str):
        return "text[]"
    if isinstance(value, int) and not isinstance(value, bool):
        return "bigint[]"
    raise TypeError(f"no array type for lookup keys of type {type(value).__name__}")


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows as dicts, each column through its own bind processor, then ``insert_values``.

    Core's per-row parameter handling costs a third of the insert time here, so each
    column's bind processor (UTC datetimes, JSON) is applied once per value and the rows go
    straight to the driver; a ``None`` is SQL NULL in every column, JSON ones included. Rows
    of another shape (another set of keys) are another statement, in order of first
    appearance.
    """
    dialect = session.connection().dialect
    table = model.__table__
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for columns, group in shapes.items():
        cells = [_column_values(table.c[name].type, dialect, group, name) for name in columns]
        insert_values(session, model, columns, list(zip(*cells, strict=True)))


def insert_values(
    session: Session, model: Any, columns: Sequence[str], values: list[tuple[Any, ...]]
) -> None:
    """Rows already in the driver's form (``driver_converter``): one ``executemany`` on
    SQLite, one ``COPY`` on PostgreSQL. A ``None`` is SQL NULL in every column, JSON ones
    included (the JSON text of a value is the value)."""
    if not values:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = model.__table__.name
    if dialect.name == "postgresql":  # COPY: one stream instead of a statement per row
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(statement) as copy:
                for record in values:
                    copy.write_row(record)
        except dialect.loaded_dbapi.Error as exc:
            # The driver's own cursor bypasses SQLAlchemy: wrap its error as SQLAlchemy
            # would, so a unique violation from another writer is an IntegrityError that
            # ``Store.transaction`` turns into "run the command again", never exit 1.
            raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
        return
    mark = placeholder(connection)
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"
    )
    connection.exec_driver_sql(statement, values)


def driver_converter(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What a column's non-None values go through for the driver (None: nothing), for a
    writer that puts rows in the driver's form itself (``insert_values``)."""
    return _converter(column.type, dialect)


def _column_values(
    column_type: Any, dialect: Any, rows: list[dict[str, Any]], name: str
) -> list[Any]:
    """One column of ``rows`` as the driver takes it: column by column, one comprehension
    each, and no conversion at all for plain ids."""
    values = _column(rows, name)
    convert = _converter(column_type, dialect)
    if convert is None:
        return values
    return [None if value is None else convert(value) for value in values]


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What a column's non-None values go through for the driver: ``storable`` for text,
    then the type's own bind processor (UTC datetimes); JSON straight to its text
    (``json_text``, the engine's own serializer), not through PostgreSQL's per-value JSON
    wrapper; None for plain ids. A datetime is processed once per distinct value: a
    report's times repeat on each of its facts."""
    if isinstance(column_type, JSON):  # the text itself: COPY takes it for a json column
        return json_text
    process = column_type._cached_bind_processor(dialect)
    python_type = _python_type(column_type)
    if process is None:
        return storable if python_type is str else None
    if python_type is datetime:
        return functools.cache(process)
    if python_type is str:
        return lambda value: process(storable(value))
    return process


def _python_type(column_type: Any) -> type | None:
    column_type = getattr(column_type, "impl_instance", column_type)  # UTCDateTime: DateTime
    try:
        found: type = column_type.python_type
    except NotImplementedError:  # JSON and other types without one Python type
        return None
    return found
