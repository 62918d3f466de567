"""Text as every store keeps it alike (parsers and the store's bulk path share it)."""

from __future__ import annotations


def storable(text: str) -> str:
    """Text both stores keep alike: NUL and unpaired surrogates written as escapes.

    SQLite stores either; PostgreSQL refuses both. Escaping them, for both stores, keeps
    one behaviour: the value is kept, visibly marked, and the source is not refused.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if text.isascii():  # a flag CPython keeps on the string: no encoding to find out
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable_cut(text: str, limit: int) -> str:
    """``storable(text)`` in at most ``limit`` characters, never an escape cut in two.

    Escaping makes a NUL four characters and an unpaired surrogate six, so a value cut to
    its column first and escaped after can outgrow the column: PostgreSQL refuses it where
    SQLite keeps it. The value loses whole characters from its end instead.
    """
    cut = text[:limit]
    stored = storable(cut)
    while len(stored) > limit:
        cut = cut[:-1]
        stored = storable(cut)
    return stored
