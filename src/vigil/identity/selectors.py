"""How identifiers are normalised, so that the same identifier from two sources is one Selector.

The rules (docs/formats.md; synth's truth uses the same ones):

- **email**: surrounding whitespace stripped, then ``str.casefold()``. It must have one ``@``
  with text on both sides and no whitespace, else ``SelectorError``. Dots and ``+tags`` are
  kept: providers differ on whether they matter, and merging them is a linking decision.
- **phone**: parsed with ``phonenumbers``; a number without ``+`` is read in the region the
  source gives (CyberTipline ``estimatedLocation/countryCode``, an ISP return's ``country``),
  and formatted E.164. A number that cannot be parsed, or is not a possible number, is
  **kept as written** (stripped) with a warning: phone fields in provider reports are
  free text, and one bad number is no reason to refuse a whole report. A "number" without a
  single digit (``none``, ``n/a``, ``call me``) raises ``SelectorError``: it names nobody, and
  as a selector it would link everyone who typed the same word (a dirty value, kept verbatim).
- **ip**: ``ipaddress.ip_address`` then ``.compressed`` (IPv4 dotted quad; IPv6 lowercase,
  zeros compressed). An impossible address (``999.1.1.1``, ``gibberish``) raises
  ``SelectorError``: the parser turns it into ``BadInput`` naming the record.
- **username**: kept as written (surrounding whitespace stripped) for ``display``; the
  comparison value is its ``casefold()``. Leetspeak and punctuation variants are left alone:
  they are evidence for linking, not noise to erase.
- **device, camera, payment, url**: stripped, otherwise as written.

Every function returns a ``Normalised`` (value, display, warning) so callers keep what the
source wrote next to the value used for matching.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import phonenumbers

_WHITESPACE = re.compile(r"\s")
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# What ``ipaddress`` accepts as IPv4 (ASCII digits, no leading zeros) is its own compressed
# form; the regular expression finds it in a tenth of the time (``tests/test_ingest_selectors.py``).
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


class SelectorError(ValueError):
    """An identifier that cannot be what its field says (an impossible IP, a broken email)."""


@dataclass(frozen=True, slots=True)
class Normalised:
    value: str
    display: str
    warning: str | None = None


def normalise_email(raw: str) -> Normalised:
    display = raw.strip()
    local, at, domain = display.rpartition("@")
    if not at or not local or not domain or _WHITESPACE.search(display):
        raise SelectorError(f"not an email address: {raw!r}")
    return Normalised(display.casefold(), display)


def normalise_phone(raw: str, region: str | None = None) -> Normalised:
    display = raw.strip()
    if not display:
        raise SelectorError("empty phone number")
    if not any(ch.isdigit() for ch in display):
        raise SelectorError(f"not a phone number (no digit): {raw!r}")
    try:
        number = phonenumbers.parse(display, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return Normalised(display, display, f"phone number kept as written: {raw!r}")
    if not phonenumbers.is_possible_number(number):
        return Normalised(display, display, f"phone number kept as written: {raw!r}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Normalised(e164, display)


def normalise_ip(raw: str) -> Normalised:
    display = raw.strip()
    if _CANONICAL_IPV4.fullmatch(display):
        return Normalised(display, display)
    try:
        address = ipaddress.ip_address(display)
    except ValueError as exc:
        raise SelectorError(f"impossible IP address: {raw!r}") from exc
    return Normalised(address.compressed, display)


def normalise_username(raw: str) -> Normalised:
    display = raw.strip()
    if not display:
        raise SelectorError("empty username")
    return Normalised(display.casefold(), display)


def normalise_verbatim(raw: str) -> Normalised:
    """device, camera, payment and url selectors: stripped, otherwise as written."""
    display = raw.strip()
    if not display:
        raise SelectorError("empty identifier")
    return Normalised(display, display)


NORMALISERS = {
    "email": normalise_email,
    "ip": normalise_ip,
    "username": normalise_username,
    "device": normalise_verbatim,
    "camera": normalise_verbatim,
    "payment": normalise_verbatim,
    "url": normalise_verbatim,
}


def normalise(kind: str, raw: str, *, region: str | None = None) -> Normalised:
    """Normalise ``raw`` as a selector of ``kind``; ``region`` only matters for phones."""
    if kind == "phone":
        return normalise_phone(raw, region)
    try:
        return NORMALISERS[kind](raw)
    except KeyError:
        raise SelectorError(f"unknown selector kind {kind!r}") from None
