"""Addresses from each country's real allocations, checked with the offline `iptocc` table.

Offline geolocation is what investigators use to route a lead to the right country, so every
address a person uses must geolocate to that person's country. We probe one address per /16
once, keep the /16s of each country, and then accept a sampled host only if it geolocates too.
"""

from __future__ import annotations

import ipaddress
import random
from functools import lru_cache

from iptocc import country_code

# Private, shared, loopback, multicast-adjacent and documentation space, plus legacy /8s held
# by governments, companies and amateur radio that no home subscriber would be seen from.
# fmt: off
_RESERVED_FIRST_OCTETS = frozenset({
    0, 6, 7, 10, 11, 15, 16, 17, 19, 21, 22, 25, 26, 28, 29, 30, 33, 44, 48, 53, 55, 56, 57,
    100, 127, 169, 172, 192, 198, 203, 214, 215,
})
# fmt: on


@lru_cache(maxsize=1)
def prefixes_by_country() -> dict[str, list[tuple[int, int]]]:
    table: dict[str, list[tuple[int, int]]] = {}
    for first in range(1, 224):
        if first in _RESERVED_FIRST_OCTETS:
            continue
        for second in range(256):
            code = country_code(f"{first}.{second}.1.1")
            if code:
                table.setdefault(code, []).append((first, second))
    return table


def geolocates_to(ip: str, country: str) -> bool:
    return country_code(ip) == country


def sample_ip(rng: random.Random, country: str, taken: set[str]) -> str:
    """A public address of `country`, not in `taken` (added to it)."""
    prefixes = prefixes_by_country().get(country)
    if not prefixes:
        raise ValueError(f"no IPv4 allocation found for country {country}")
    for _ in range(500):
        first, second = rng.choice(prefixes)
        ip = str(
            ipaddress.IPv4Address(f"{first}.{second}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        )
        if ip not in taken and geolocates_to(ip, country):
            taken.add(ip)
            return ip
    raise ValueError(f"could not sample an address for {country}")
