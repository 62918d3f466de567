"""File rows for the hashes a source names.

``resolve_files`` turns the files a source names by hash into File ids: existing rows
(completed with hashes they lacked) or new rows, so the same content is one File however
many sources name it. Rows go through the store's bulk path (``vigil.store.bulk``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from vigil.formats.source_records import FileRef
from vigil.store.bulk import driver_rows, insert_returning, select_in
from vigil.store.models import File, utcnow

HASH_COLUMNS = ("sha256", "md5", "sha1")
FILE_COLUMNS = ("id", "sha256", "md5", "sha1", "size_bytes", "pdq")
FILE_FACTS = FILE_COLUMNS[1:]  # what a source may tell of a file, and a File row completes


@dataclass
class ResolvedFiles:
    ids: dict[tuple[str, str], int]
    """The File id of each ``FileRef.key``."""
    new: int
    """How many File rows were new."""
    conflicts: list[str]
    """Warnings: a source naming a known SHA-256 with another MD5 or SHA-1 (quoted verbatim)."""


def resolve_files(session: Session, refs: list[FileRef]) -> ResolvedFiles:
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
            row = dict(zip(FILE_COLUMNS, found_row, strict=True))
            existing[found_row[0]] = {**row, "changed": False}
    for file_id in sorted(existing):  # in id order, whatever order the store answered in
        remember(existing[file_id])
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    new_rows: list[dict[str, Any]] = []
    conflicts: list[str] = []
    for ref in sorted(refs, key=lambda r: (r.sha256 is None, r.md5 is None)):
        row = _same_content(index, ref, conflicts) or _find(index, ref)
        if row is None:
            row = {
                "id": None,
                "sha256": ref.sha256,
                "md5": ref.md5,
                "sha1": ref.sha1,
                "size_bytes": ref.size_bytes,
                "pdq": ref.pdq,
                "changed": False,
            }
            new_rows.append(row)
        else:
            for column in FILE_FACTS:
                if not row[column] and getattr(ref, column):
                    row[column] = getattr(ref, column)
                    row["changed"] = row["id"] is not None
        remember(row)
        chosen[ref.key] = row
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


def _files_naming(session: Session, refs: list[FileRef]) -> list[tuple[Any, ...]]:
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
    wanted = {c: sorted({getattr(r, c) for r in refs if getattr(r, c)}) for c in HASH_COLUMNS}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        where = " OR ".join(f"{column} = ANY(%b::text[])" for column in HASH_COLUMNS)
        statement = f"SELECT {', '.join(FILE_COLUMNS)} FROM {File.__tablename__} WHERE {where}"
        params = tuple(wanted[column] for column in HASH_COLUMNS)
        return driver_rows(connection, statement, params)
    table = File.__tablename__
    found = select_in(session, table, FILE_COLUMNS, [], "sha256", wanted["sha256"])
    for column in HASH_COLUMNS[1:]:
        alone = {getattr(r, column) for r in refs if getattr(r, column) and not r.sha256}
        beside = set(wanted[column]) - alone  # only ever named beside a SHA-256
        found.extend(select_in(session, table, FILE_COLUMNS, [], column, sorted(alone)))
        found.extend(
            select_in(session, table, FILE_COLUMNS, [], column, sorted(beside), is_null=("sha256",))
        )
    return found


def _same_content(
    index: dict[tuple[str, str], list[dict[str, Any]]], ref: FileRef, conflicts: list[str]
) -> Any:
    """The row with ``ref``'s SHA-256, noting any weaker hash of ``ref`` that disagrees."""
    for row in index.get(("sha256", ref.sha256), []) if ref.sha256 else []:
        for column in HASH_COLUMNS[1:]:
            named = getattr(ref, column)
            if named and row[column] and named != row[column]:
                conflicts.append(
                    f"file {ref.name or ref.sha256}: {column.upper()} {named!r} disagrees with "
                    f"{row[column]!r}, known for its SHA-256 {ref.sha256}; the SHA-256 decides"
                )
        return row
    return None


def _find(index: dict[tuple[str, str], list[dict[str, Any]]], ref: FileRef) -> Any:
    for column in HASH_COLUMNS:
        value = getattr(ref, column)
        for row in index.get((column, value), []) if value else []:
            if all(
                not row[c] or not getattr(ref, c) or row[c] == getattr(ref, c) for c in HASH_COLUMNS
            ):
                return row
    return None
