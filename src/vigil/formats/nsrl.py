"""NIST NSRL reference data: known-good files, always imported as kind ``ignorable``.

Two shapes, told apart by content: the RDSv3 SQLite database (its ``FILE`` table or view:
``sha256, sha1, md5, file_name, file_size, package_id``), read through a read-only cursor one
row at a time; and the legacy ``NSRLFile.txt`` quoted CSV
(``"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"``),
whose header line maps the columns.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vigil.errors import BadInput
from vigil.formats.hashrecord import (
    HashRecord,
    HashSetFormat,
    clean_hex,
    open_binary,
    optional_text,
    parse_size,
    text_lines,
)
from vigil.formats.registry import HASHSET_FORMATS

SQLITE_MAGIC = b"SQLite format 3\x00"
RDS_COLUMNS = ("sha256", "sha1", "md5", "file_name", "file_size", "package_id")
LEGACY_EXTRA = {
    "CRC32": "crc32",
    "ProductCode": "product_code",
    "OpSystemCode": "op_system_code",
    "SpecialCode": "special_code",
}


@HASHSET_FORMATS.register("nsrl")
class NsrlFormat(HashSetFormat):
    name = "nsrl"
    default_kind = "ignorable"
    forced_kind = "ignorable"

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        with open_binary(path) as handle:
            magic = handle.read(len(SQLITE_MAGIC))
        if magic == SQLITE_MAGIC:
            return _read_rds_sqlite(path)
        return _read_legacy_text(path)


def _read_rds_sqlite(path: Path) -> Iterator[HashRecord]:
    source = str(path)
    try:
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BadInput(f"cannot open NSRL database: {exc}", source=source) from exc
    try:
        columns = ", ".join(RDS_COLUMNS)
        try:
            cursor = connection.execute(f"SELECT {columns} FROM FILE")
        except sqlite3.Error as exc:
            raise BadInput(
                f"not an NSRL RDSv3 database (no FILE table with {columns}): {exc}",
                source=source,
            ) from exc
        number = 0
        while True:
            try:
                rows = cursor.fetchmany(5000)
            except sqlite3.Error as exc:
                raise BadInput(
                    f"damaged database: {exc}", source=source, location=f"FILE row {number + 1}"
                ) from exc
            if not rows:
                return
            for sha256, sha1, md5, file_name, file_size, package_id in rows:
                number += 1
                where = {"source": source, "location": f"FILE row {number}"}
                yield HashRecord(
                    md5=clean_hex(md5, "md5", **where),
                    sha1=clean_hex(sha1, "sha1", **where),
                    sha256=clean_hex(sha256, "sha256", **where),
                    file_name=optional_text(file_name),
                    size_bytes=parse_size(file_size, **where),
                    extra=_package(package_id),
                    location=where["location"],
                )
    finally:
        connection.close()


def _package(package_id: Any) -> dict[str, Any]:
    """RDSv3's package id is a whole number; SQLite stores whatever a database holds, so
    any other value (a blob, text) is kept as text, never refused and never unstorable."""
    if package_id is None:
        return {}
    if isinstance(package_id, int):
        return {"package_id": package_id}
    return {"package_id": optional_text(package_id)}


def _read_legacy_text(path: Path) -> Iterator[HashRecord]:
    source = str(path)
    lines = text_lines(path)
    numbers: list[int] = []

    def numbered() -> Iterator[str]:
        for number, text in lines:
            numbers.append(number)
            yield text

    reader = csv.reader(numbered(), strict=True)
    try:
        header = next(reader, None)
        if header is None or "SHA-1" not in header or "MD5" not in header:
            raise BadInput(
                'not NSRLFile.txt: the first line must be the "SHA-1","MD5",... header',
                source=source,
                location="line 1",
            )
        position = {name: index for index, name in enumerate(header)}
        for row in reader:
            location = f"line {numbers[-1]}"
            numbers.clear()
            if not row:
                continue
            if len(row) != len(header):
                raise BadInput(
                    f"expected {len(header)} fields, found {len(row)}",
                    source=source,
                    location=location,
                )
            yield _legacy_record(row, position, source, location)
    except csv.Error as exc:
        raise BadInput(
            f"malformed CSV: {exc}", source=source, location=f"line {numbers[-1] if numbers else 1}"
        ) from exc


def _legacy_record(
    row: list[str], position: dict[str, int], source: str, location: str
) -> HashRecord:
    where = {"source": source, "location": location}

    def field(name: str) -> str | None:
        index = position.get(name)
        return row[index] if index is not None else None

    extra = {key: field(column) for column, key in LEGACY_EXTRA.items() if field(column)}
    return HashRecord(
        sha1=clean_hex(field("SHA-1"), "sha1", **where),
        md5=clean_hex(field("MD5"), "md5", **where),
        file_name=optional_text(field("FileName")),
        size_bytes=parse_size(field("FileSize"), **where),
        extra=extra,
        location=location,
    )


def write_legacy_text(records: Iterable[HashRecord], path: Path) -> int:
    """The legacy NSRLFile.txt layout (tests and synthetic data use it)."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(["SHA-1", "MD5", "CRC32", "FileName", "FileSize", *list(LEGACY_EXTRA)[1:]])
        for record in records:
            extra = record.extra
            writer.writerow(
                [
                    (record.sha1 or "").upper(),
                    (record.md5 or "").upper(),
                    extra.get("crc32", ""),
                    record.file_name or "",
                    "" if record.size_bytes is None else record.size_bytes,
                    *(extra.get(key, "") for key in list(LEGACY_EXTRA.values())[1:]),
                ]
            )
            count += 1
    return count
