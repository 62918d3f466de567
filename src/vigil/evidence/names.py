"""File names kept losslessly: bytes that are not UTF-8 are preserved and shown escaped.

Python hands a name that is not valid UTF-8 (``caf\\xe9.jpg`` on a Linux folder, a latin-1
tar member) over as a string carrying surrogate escapes, which no database and no terminal
accepts. ``printable`` turns such a name into text that shows each undecodable byte as
``\\xNN`` and returns the original bytes beside it, so the store keeps both: the text to
read and search, and the bytes that are the evidence.
"""

from __future__ import annotations


def raw_bytes(name: str) -> bytes | None:
    """The name's original bytes when it is not valid UTF-8 (or holds NUL), else None."""
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no byte decoded to
            return name.encode("utf-8", "surrogatepass")
    return encoded if "\x00" in name else None  # PostgreSQL text cannot hold NUL


def printable(name: str) -> str:
    """The name as valid text: undecodable bytes as ``\\xNN``, everything else unchanged."""
    raw = raw_bytes(name)
    if raw is None:
        return name.replace("\x00", "\\x00")
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
