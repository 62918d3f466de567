"""Selectors in the one form both nodes evaluate, so that equal identifiers give equal PRFs.

The forms (``docs/federation.md``):

- ``email:<casefolded address>``; ``phone:<E.164>`` (a number kept as written is not
  deconflicted: it is not known to be the same number anywhere else);
- ``account:<platform>:<stable id>`` and ``username:<platform>:<name>``, platform and name
  casefolded;
- ``ip:<year>:<address>``: an address means someone only within a time, so it is bucketed by
  the UTC year it was seen in (a node with no time for a sighting does not deconflict it);
- ``device:<id>``, ``camera:<make model serial>``, ``payment:<id>``.

Values go through ``vigil.identity.selectors`` first, the same normalisers ingest uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigil.identity.selectors import SelectorError, normalise

DECONFLICTED_KINDS = ("email", "phone", "account", "username", "ip", "device", "camera", "payment")


@dataclass(frozen=True, slots=True)
class SelectorToken:
    kind: str
    value: str
    """The normalised value, with its platform or time bucket, as the PRF input reads it."""

    @property
    def input(self) -> bytes:
        return f"{self.kind}:{self.value}".encode()


def token(
    kind: str, value: str, platform: str = "", seen_at: datetime | None = None
) -> SelectorToken | None:
    """The token for one selector, or None when the kind or value is not deconflicted."""
    if kind not in DECONFLICTED_KINDS:
        return None
    try:
        if kind == "account":
            stable = value.strip()
            if not stable or not platform.strip():
                return None
            return SelectorToken(kind, f"{platform.strip().casefold()}:{stable}")
        if kind == "username":
            name = normalise("username", value).value
            if not platform.strip():
                return None
            return SelectorToken(kind, f"{platform.strip().casefold()}:{name}")
        if kind == "phone":
            number = normalise("phone", value)
            if number.warning or not number.value.startswith("+"):
                return None
            return SelectorToken(kind, number.value)
        if kind == "ip":
            if seen_at is None:
                return None
            return SelectorToken(kind, f"{seen_at.year:04d}:{normalise('ip', value).value}")
        if kind in ("device", "camera", "payment"):
            return SelectorToken(kind, normalise(kind, value).value)
        return SelectorToken(kind, normalise(kind, value).value)
    except SelectorError:
        return None
