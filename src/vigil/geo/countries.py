"""Each subject's country, with the basis a receiving agency can check.

Precedence follows how much each source is worth in court: an ISP's subscriber return names
the person paying for the line; a provider's verified location comes from the provider's own
records; the IPs' registry country (offline, through ``iptocc``) is only where the address
block is allocated, so it is the last resort and needs a majority. Anything else is unknown:
a country is never guessed.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

import iptocc

from vigil.country_codes import iso_country


@dataclass(frozen=True)
class SubscriberRecord:
    """One subscriber-return row matched to one of the subject's IPs."""

    ip: str
    country: str
    isp: str | None = None
    request_ref: str | None = None


@dataclass(frozen=True)
class ProviderLocation:
    """A provider's verified location, e.g. CyberTipline ``estimatedLocation/countryCode``."""

    country: str
    provider: str | None = None
    report: str | None = None


@dataclass
class CountryEvidence:
    subject_id: int
    subscriber: list[SubscriberRecord] = field(default_factory=list)
    provider: list[ProviderLocation] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    """Every IP sighting of the subject (repeats count as tie-breaks, not as votes)."""


@dataclass(frozen=True)
class CountryDecision:
    subject_id: int
    country: str | None
    basis: str
    basis_kind: str
    """``subscriber``, ``provider``, ``ip-majority`` or ``unknown``."""


def _majority(countries: list[str]) -> tuple[str, int, int]:
    counts = Counter(countries)
    country, votes = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return country, votes, len(countries)


def _clean(country: str | None) -> str | None:
    return iso_country(country)


def geolocate(ips: list[str]) -> dict[str, str | None]:
    """Registry country of each public IP; private, CGNAT and malformed addresses get None."""
    public: list[str] = []
    for value in dict.fromkeys(ips):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue
        if address.is_global:
            public.append(address.compressed)
    found = iptocc.country_code(public) if public else []
    located: dict[str, str | None] = {ip: None for ip in ips}
    located.update(dict(zip(public, found, strict=True)))
    return located


def decide_country(
    evidence: CountryEvidence, located: dict[str, str | None] | None = None
) -> CountryDecision:
    """The country by precedence; ``located`` may hold a batch ``geolocate`` result."""
    subscriber = [r for r in evidence.subscriber if _clean(r.country)]
    if subscriber:
        country, votes, total = _majority([_clean(r.country) or "" for r in subscriber])
        refs = sorted({r.request_ref or r.isp or r.ip for r in subscriber})
        basis = (
            f"ISP subscriber return: {votes} of {total} returns name {country} "
            f"({', '.join(refs[:3])}{', ...' if len(refs) > 3 else ''})"
        )
        return CountryDecision(evidence.subject_id, country, basis, "subscriber")
    provider = [p for p in evidence.provider if _clean(p.country)]
    if provider:
        country, votes, total = _majority([_clean(p.country) or "" for p in provider])
        names = sorted({p.provider or "provider" for p in provider})
        basis = (
            f"provider verified location: {votes} of {total} reports place them in "
            f"{country} ({', '.join(names)})"
        )
        return CountryDecision(evidence.subject_id, country, basis, "provider")
    if located is None:
        located = geolocate(evidence.ips)
    sightings = Counter(evidence.ips)
    per_country: Counter[str] = Counter()
    weight: Counter[str] = Counter()
    for ip in sightings:
        registry_country = located.get(ip)
        if registry_country:
            per_country[registry_country] += 1
            weight[registry_country] += sightings[ip]
    if per_country:
        ranked = sorted(per_country, key=lambda c: (-per_country[c], -weight[c], c))
        best = ranked[0]
        total = sum(per_country.values())
        if (
            len(ranked) == 1
            or per_country[best] > per_country[ranked[1]]
            or (weight[best] > weight[ranked[1]])
        ):
            basis = (
                f"IP registry majority (iptocc): {per_country[best]} of {total} "
                f"geolocated IPs are in {best}"
            )
            return CountryDecision(evidence.subject_id, best, basis, "ip-majority")
        basis = f"unknown: IPs split evenly between {ranked[0]} and {ranked[1]}"
        return CountryDecision(evidence.subject_id, None, basis, "unknown")
    return CountryDecision(
        evidence.subject_id,
        None,
        "unknown: no subscriber return, provider location or geolocatable IP",
        "unknown",
    )


def decide_countries(evidence: list[CountryEvidence]) -> list[CountryDecision]:
    """All subjects at once, geolocating every IP in one batch."""
    located = geolocate([ip for item in evidence for ip in item.ips])
    return [decide_country(item, located) for item in evidence]
