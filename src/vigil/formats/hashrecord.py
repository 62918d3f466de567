"""One hash-set entry as every hash-set format reads and writes it, plus the checks they share.

Each format module turns its own syntax into ``HashRecord``s (lazily, one at a time) and raises
``BadInput`` naming the file and line for anything it cannot read. A format is a class
registered in ``HASHSET_FORMATS`` with ``read`` (and ``write`` where Vigil can export it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vigil.errors import BadInput
from vigil.formats.source_records import MAX_SIZE_BYTES

HASH_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass
class HashRecord:
    """A known file: its hashes and what the bank says about it. Hex is lowercase."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    photodna: str | None = None
    media_id: str | None = None
    category: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    distributed: bool | None = None
    size_bytes: int | None = None
    file_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    location: str | None = field(default=None, compare=False)  # "line 12", for errors

    def has_hash(self) -> bool:
        return any((self.md5, self.sha1, self.sha256, self.pdq, self.photodna))


class HashSetFormat:
    """Base of every hash-set format: read lazily; ``default_kind`` unless the user says."""

    name: ClassVar[str] = ""
    default_kind: ClassVar[str] = "alert"
    forced_kind: ClassVar[str | None] = None  # NSRL is known-good whatever the user says
    can_write: ClassVar[bool] = False

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        raise NotImplementedError

    def write(self, records: Iterable[HashRecord], path: Path) -> int:
        raise NotImplementedError


def clean_hex(value: Any, kind: str, *, source: str, location: str | None) -> str | None:
    """Lowercase hex of the right length for ``kind``; empty means absent."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) != HASH_HEX_LENGTHS[kind] or not _HEX.match(text):
        raise BadInput(
            f"not a valid {kind.upper()} hash: {_short(text)!r}", source=source, location=location
        )
    return text.lower()


def parse_flag(value: Any, name: str, *, source: str, location: str | None) -> bool | None:
    """Flags come as booleans or as the strings "true"/"false" (and yes/no, 1/0)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadInput(
        f"{name} must be true or false, not {_short(str(value))!r}",
        source=source,
        location=location,
    )


def parse_size(value: Any, *, source: str, location: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        size = int(str(value).strip())
    except ValueError:
        raise BadInput(
            f"size must be a whole number of bytes, not {_short(str(value))!r}",
            source=source,
            location=location,
        ) from None
    if size < 0:
        raise BadInput(f"size cannot be negative: {size}", source=source, location=location)
    if size > MAX_SIZE_BYTES:
        raise BadInput(f"size out of range: {_short(str(size))}", source=source, location=location)
    return size


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def open_binary(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its newline) of a UTF-8 file, decoded line by line so
    that a wrong encoding is reported on the line where it occurs. A BOM is skipped."""
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                if raw.startswith(UTF16_BOMS):
                    raise BadInput(
                        "is UTF-16; save it as UTF-8", source=str(path), location="line 1"
                    )
                raw = raw.removeprefix(UTF8_BOM)
            if b"\x00" in raw:
                raise BadInput(
                    "binary data (NUL byte), not a text hash list",
                    source=str(path),
                    location=f"line {number}",
                )
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInput(
                    f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                    source=str(path),
                    location=f"line {number}",
                ) from exc
            yield number, text.rstrip("\r\n")
