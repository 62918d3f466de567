"""INTERPOL ICSE baseline CSV: semicolon-separated, header first.

``MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;Series
name;...``. The header maps the columns (any order, any case); columns Vigil does not model
are kept in ``extra["icse"]`` so nothing the bank said is lost.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import BadInput
from vigil.formats.hashrecord import (
    HashRecord,
    HashSetFormat,
    clean_hex,
    optional_text,
    parse_flag,
    parse_size,
    text_lines,
)
from vigil.formats.registry import HASHSET_FORMATS

MODELLED = {
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "photodna": "photodna",
    "image id": "media_id",
    "is distributed": "distributed",
    "victim identified": "victim_identified",
    "offender identified": "offender_identified",
    "series name": "series",
    "category": "category",
    "file size": "size_bytes",
    "file name": "file_name",
}
FLAGS = {"distributed", "victim_identified", "offender_identified"}
REQUIRED = ("md5", "sha1")


@HASHSET_FORMATS.register("icse")
class IcseFormat(HashSetFormat):
    name = "icse"

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        source = str(path)
        numbers: list[int] = []

        def numbered() -> Iterator[str]:
            for number, text in text_lines(path):
                numbers.append(number)
                yield text

        reader = csv.reader(numbered(), delimiter=";", strict=True)
        try:
            header = next(reader, None)
            columns = [name.strip() for name in header or []]
            fields = [MODELLED.get(name.lower()) for name in columns]
            if not all(required in fields for required in REQUIRED):
                raise BadInput(
                    "not an ICSE baseline CSV: the first line must be the "
                    "MD5;SHA1;PhotoDNA;Image ID;... header",
                    source=source,
                    location="line 1",
                )
            for row in reader:
                location = f"line {numbers[-1]}"
                numbers.clear()
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(columns):
                    raise BadInput(
                        f"expected at most {len(columns)} fields, found {len(row)}",
                        source=source,
                        location=location,
                    )
                yield _record(columns, fields, row, source, location)
        except csv.Error as exc:
            raise BadInput(
                f"malformed CSV: {exc}",
                source=source,
                location=f"line {numbers[-1] if numbers else 1}",
            ) from exc


def _record(
    columns: list[str], fields: list[str | None], row: list[str], source: str, location: str
) -> HashRecord:
    where = {"source": source, "location": location}
    values: dict[str, object] = {}
    unmodelled: dict[str, str] = {}
    for column, field, cell in zip(columns, fields, row, strict=False):
        if field is None:
            if cell.strip():
                unmodelled[column] = cell.strip()
        elif field in ("md5", "sha1", "sha256"):
            values[field] = clean_hex(cell, field, **where)
        elif field in FLAGS:
            values[field] = parse_flag(cell, column, **where)
        elif field == "size_bytes":
            values[field] = parse_size(cell, **where)
        else:
            values[field] = optional_text(cell)
    record = HashRecord(**values, extra={"icse": unmodelled} if unmodelled else {})  # type: ignore[arg-type]
    record.location = location
    if not record.has_hash():
        raise BadInput("row has no MD5, SHA1 or PhotoDNA", **where)
    return record
