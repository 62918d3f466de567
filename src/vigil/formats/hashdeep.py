"""hashdeep / md5deep audit files: ``%%%% HASHDEEP-1.0``, then the column line
``%%%% size,md5,sha256,filename`` (whatever hashes were asked for), ``##`` comments, rows.

The column line decides the layout, so any ``-c`` choice reads. The file name is the last
column and may itself contain commas, so each row is split at most ``columns - 1`` times.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.errors import BadInput
from vigil.formats.hashrecord import (
    HashRecord,
    HashSetFormat,
    clean_hex,
    optional_text,
    parse_size,
    text_lines,
)
from vigil.formats.registry import HASHSET_FORMATS

MAGIC = "%%%% HASHDEEP-1.0"
COLUMN_PREFIX = "%%%% "
DIGESTS = ("md5", "sha1", "sha256")


@HASHSET_FORMATS.register("hashdeep")
class HashdeepFormat(HashSetFormat):
    name = "hashdeep"

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        source = str(path)
        columns: list[str] | None = None
        for number, text in text_lines(path):
            location = f"line {number}"
            if number == 1:
                if text.strip() != MAGIC:
                    raise BadInput(
                        f"not a hashdeep file: the first line must be {MAGIC!r}",
                        source=source,
                        location=location,
                    )
                continue
            if columns is None:
                columns = _columns(text, source, location)
                continue
            if not text.strip() or text.startswith("##"):
                continue
            cells = text.split(",", len(columns) - 1)
            if len(cells) != len(columns):
                raise BadInput(
                    f"expected {len(columns)} fields, found {len(cells)}",
                    source=source,
                    location=location,
                )
            yield _record(dict(zip(columns, cells, strict=True)), source, location)
        if columns is None:
            raise BadInput("not a hashdeep file: no %%%% column line", source=source)


def _columns(text: str, source: str, location: str) -> list[str]:
    if not text.startswith(COLUMN_PREFIX):
        raise BadInput(
            "expected the '%%%% size,md5,...,filename' column line",
            source=source,
            location=location,
        )
    columns = [name.strip().lower() for name in text[len(COLUMN_PREFIX) :].split(",")]
    if columns[-1] != "filename" or not any(name in DIGESTS for name in columns):
        raise BadInput(
            "the column line must name a hash and end with filename",
            source=source,
            location=location,
        )
    return columns


def _record(cells: dict[str, str], source: str, location: str) -> HashRecord:
    where = {"source": source, "location": location}
    others = {
        name: value.strip()
        for name, value in cells.items()
        if name not in (*DIGESTS, "size", "filename") and value.strip()
    }
    record = HashRecord(
        md5=clean_hex(cells.get("md5"), "md5", **where),
        sha1=clean_hex(cells.get("sha1"), "sha1", **where),
        sha256=clean_hex(cells.get("sha256"), "sha256", **where),
        size_bytes=parse_size(cells.get("size"), **where),
        file_name=optional_text(cells.get("filename")),
        extra={"hashdeep": others} if others else {},
        location=location,
    )
    if not record.has_hash():
        raise BadInput("row has no hash", **where)
    return record
