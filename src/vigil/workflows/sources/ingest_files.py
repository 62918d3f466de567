"""File rows for the hashes a source names.

``resolve_files`` turns the files a source names by hash into File ids: existing rows
(completed with hashes they lacked) or new rows, so the same content is one File however
many sources name it. Rows go through the store's bulk path (``vigil.store.bulk``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from vigil.store.bulk import driver_rows, insert_returning, select_in
from vigil.store.models import File, utcnow
from vigil.workflows.sources.ingest_rows import (
    FACT_AT,
    MD5,
    NAME,
    SHA1,
    SHA256,
    FileFacts,
    facts_key,
)

# Each hash column of a File, strongest first, and where ``FileFacts`` hold it
HASH_AT: tuple[tuple[str, Literal[0, 1, 2]], ...] = (
    ("sha256", SHA256),
    ("md5", MD5),
    ("sha1", SHA1),
)
HASH_COLUMNS = tuple(column for column, _ in HASH_AT)
FILE_COLUMNS = ("id", "sha256", "md5", "sha1", "size_bytes", "pdq")
FILE_FACTS = FILE_COLUMNS[1:]  # what a source may tell of a file, and a File row completes


@dataclass
class ResolvedFiles:
    ids: dict[tuple[str, str], int]
    """The File id of each ``facts_key``."""
    new: int
    """How many File rows were new."""
    conflicts: list[str]
    """Warnings: a source naming a known SHA-256 with another MD5 or SHA-1 (quoted verbatim)."""


def resolve_files(session: Session, refs: list[FileFacts]) -> ResolvedFiles:
    """File ids for the refs: existing rows (completed with hashes they lacked) or new rows.

    A ref matches a row that shares one of its hashes and contradicts none, so an MD5-only
    row gains its SHA-256 when a later source names both. The SHA-256 is the content
    itself: a ref naming a known one is that File even when its MD5 or SHA-1 disagrees (a
    source's error, which the row does not take: it is reported as a warning instead).
    """
    index: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def remember(row: dict[str, Any]) -> None:
        for column in HASH_COLUMNS:
            if row[column] and row not in index.setdefault((column, row[column]), []):
                index[(column, row[column])].append(row)

    existing: dict[int, dict[str, Any]] = {}
    for found_row in _files_naming(session, refs):
        if found_row[0] not in existing:
            row = existing[found_row[0]] = dict(zip(FILE_COLUMNS, found_row, strict=True))
            row["changed"] = False
    for file_id in sorted(existing):  # in id order, whatever order the store answered in
        remember(existing[file_id])
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    new_rows: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for ref in sorted(refs, key=lambda r: (r[SHA256] is None, r[MD5] is None)):
        row = _same_content(index, ref, conflicts) or _find(index, ref)
        if row is None:
            row = {column: ref[FACT_AT[column]] for column in FILE_FACTS}
            row["id"], row["changed"] = None, False
            new_rows.append(row)
            remember(row)
        else:
            gained = False
            for column in FILE_FACTS:
                if not row[column] and (told := ref[FACT_AT[column]]):
                    row[column] = told
                    row["changed"] = row["id"] is not None
                    gained = True
            if gained:  # else it is remembered under every hash it has
                remember(row)
        chosen[facts_key(ref)] = row
    updates = [
        {c: row[c] for c in FILE_COLUMNS}
        for rows in index.values()
        for row in rows
        if row["changed"]
    ]
    if updates:
        unique = list({u["id"]: u for u in updates}.values())
        session.execute(update(File), unique)
    if new_rows:
        now = utcnow()
        inserted = [{**{c: row[c] for c in FILE_FACTS}, "first_seen_at": now} for row in new_rows]
        returned = insert_returning(session, File, inserted, ("id", *HASH_COLUMNS))
        ids = {tuple(hashes): file_id for file_id, *hashes in returned}
        for row in new_rows:  # new rows never share all three hashes (``_find``)
            row["id"] = ids[tuple(row[c] for c in HASH_COLUMNS)]
    return ResolvedFiles({key: row["id"] for key, row in chosen.items()}, len(new_rows), conflicts)


def _files_naming(session: Session, refs: list[FileFacts]) -> list[tuple[Any, ...]]:
    """``FILE_COLUMNS`` of every File that can be one of ``refs``: each File sharing a hash
    with a ref, except that a ref's weaker hash (MD5, SHA-1) can be only a File without a
    SHA-256 when the ref names one (a File with another SHA-256 contradicts it, and one with
    the same is found by it).

    One statement on PostgreSQL (each hash column's index, OR-ed); on SQLite one
    ``select_in`` per hash column, and the weaker hashes of refs that name a SHA-256 asked
    only of Files without one: every File of the same content, named by both hashes,
    would otherwise come back twice, which was a twentieth of the ingest writer's time. No
    ORDER BY: with one, SQLite walks the whole table in id order instead of probing the hash
    index (quadratic over a large ingest).
    """
    wanted = {c: sorted({v for r in refs if (v := r[at])}) for c, at in HASH_AT}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        where = " OR ".join(f"{column} = ANY(%b::text[])" for column in HASH_COLUMNS)
        statement = f"SELECT {', '.join(FILE_COLUMNS)} FROM {File.__tablename__} WHERE {where}"
        params = tuple(wanted[column] for column in HASH_COLUMNS)
        return driver_rows(connection, statement, params)
    table = File.__tablename__
    found = select_in(session, table, FILE_COLUMNS, [], "sha256", wanted["sha256"])
    for column, at in HASH_AT[1:]:
        alone = {v for r in refs if (v := r[at]) and not r[SHA256]}
        beside = set(wanted[column]) - alone  # only ever named beside a SHA-256
        found.extend(select_in(session, table, FILE_COLUMNS, [], column, sorted(alone)))
        found.extend(
            select_in(session, table, FILE_COLUMNS, [], column, sorted(beside), is_null=("sha256",))
        )
    return found


def _same_content(
    index: dict[tuple[str, str], list[dict[str, Any]]], ref: FileFacts, conflicts: list[str]
) -> Any:
    """The row with ``ref``'s SHA-256, noting any weaker hash of ``ref`` that disagrees."""
    sha256 = ref[SHA256]
    for row in index.get(("sha256", sha256), []) if sha256 else []:
        for column, at in HASH_AT[1:]:
            named = ref[at]
            if named and row[column] and named != row[column]:
                conflicts.append(
                    f"file {ref[NAME] or sha256}: {column.upper()} {named!r} disagrees with "
                    f"{row[column]!r}, known for its SHA-256 {sha256}; the SHA-256 decides"
                )
        return row
    return None


def _find(index: dict[tuple[str, str], list[dict[str, Any]]], ref: FileFacts) -> Any:
    for column, at in HASH_AT:
        value = ref[at]
        for row in index.get((column, value), []) if value else []:
            if all(not row[c] or not ref[i] or row[c] == ref[i] for c, i in HASH_AT):
                return row
    return None
