"""Plain hash lists: one hash per line, registered as ``list``.

The type comes from the length (MD5 32 hex, SHA-1 40) or from ``hash_type``; 64 hex could be
SHA-256 or PDQ, so a list of those needs the type named. ``md5sum``-style lines (a hash, then
whitespace and a file name) read too; blank lines and ``#`` comments are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vigil.errors import BadInput, UsageError
from vigil.formats.hashrecord import (
    HASH_HEX_LENGTHS,
    HashRecord,
    HashSetFormat,
    clean_hex,
    optional_text,
    text_lines,
)
from vigil.formats.registry import HASHSET_FORMATS

TYPE_BY_LENGTH = {32: "md5", 40: "sha1"}


@HASHSET_FORMATS.register("list")
class HashListFormat(HashSetFormat):
    name = "list"

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        if hash_type is not None and hash_type not in HASH_HEX_LENGTHS:
            raise UsageError(f"hash type must be one of {', '.join(HASH_HEX_LENGTHS)}")
        return self._read(path, hash_type)

    def _read(self, path: Path, hash_type: str | None) -> Iterator[HashRecord]:
        source = str(path)
        for number, text in text_lines(path):
            line = text.strip()
            if not line or line.startswith("#"):
                continue
            location = f"line {number}"
            value, _, name = line.partition(" ")
            value, name = value.strip(), name.strip().lstrip("*")  # md5sum's binary marker
            kind = hash_type or TYPE_BY_LENGTH.get(len(value))
            if kind is None:
                why = (
                    "64 hex digits may be SHA-256 or PDQ: name it with --hash-type"
                    if len(value) == 64
                    else f"not a hash ({len(value)} characters; MD5 is 32, SHA-1 40)"
                )
                raise BadInput(why, source=source, location=location)
            digest = clean_hex(value, kind, source=source, location=location)
            yield HashRecord(
                **{kind: digest},  # type: ignore[arg-type]
                file_name=optional_text(name),
                location=location,
            )
