"""ISO 3166-1 alpha-2 country codes: the one check every layer uses.

Why a module of its own at the top: the store reads a subscriber's country, the formats read
it from a return, the workflows take it from the command line, and the geo engine decides on
it; each must agree that ``XX``, ``ZZ`` or ``1A`` is not a country. The list is the
``iso3166`` package's (assigned codes, plus ``XK`` for Kosovo as agencies use it), never a
shape check: two letters are not enough.
"""

from __future__ import annotations

from typing import Any

import iso3166


def iso_country(value: Any) -> str | None:
    """The upper-case alpha-2 code ``value`` names, or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if len(code) == 2 and code in iso3166.countries_by_alpha2 else None
