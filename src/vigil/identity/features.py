"""Pairwise evidence between two accounts, and the per-account columns it is computed from.

``Population`` counts how many accounts carry each identifier, because an identifier seen
with many unrelated accounts (a CGNAT or VPN exit address, a shared family computer)
says little about any one of them. ``AccountColumns`` is one account reduced to what the
model compares; the same columns go into splink's DuckDB table and into ``compare``, so the
SQL levels in ``model`` and the Python evidence here describe the same facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from vigil.identity.aliases import stem_information, stem_similarity
from vigil.identity.profiles import AccountProfile

IP_WINDOW_SECONDS = 24 * 3600
# An address seen with more accounts than this is treated as shared infrastructure.
IP_CROWD_ACCOUNTS = 6
# A device on more accounts than this is a shop or library computer, not a person's.
DEVICE_CROWD_ACCOUNTS = 6
# Identifiers on more accounts than this are not used to find candidate pairs.
BLOCKING_CROWD_ACCOUNTS = 50
# Distinct (address, hour) sightings kept per account: enough to find overlaps.
MAX_IP_SIGHTINGS = 400

_DOT_BLIND_PROVIDERS = {"gmail.com", "googlemail.com"}
_PROVIDER_ALIASES = {"googlemail.com": "gmail.com"}


def email_form(email: str) -> str:
    """The provider-aware form: plus-tags dropped, dots dropped where the provider ignores
    them. Two addresses with the same form *may* be one mailbox: evidence, not identity."""
    local, _, domain = email.casefold().rpartition("@")
    if not local:
        return email.casefold()
    domain = _PROVIDER_ALIASES.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain in _DOT_BLIND_PROVIDERS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


@dataclass
class Population:
    """How many accounts carry each identifier, over everything being resolved."""

    ip_accounts: Counter[str]
    device_accounts: Counter[str]
    key_accounts: Counter[str]

    @classmethod
    def of(cls, profiles: Iterable[AccountProfile]) -> Population:
        ips: Counter[str] = Counter()
        devices: Counter[str] = Counter()
        keys: Counter[str] = Counter()
        for profile in profiles:
            ips.update({s.ip for s in profile.ips})
            devices.update(profile.devices)
            keys.update(_raw_keys(profile))
        return cls(ips, devices, keys)

    def add(self, profile: AccountProfile) -> None:
        self.ip_accounts.update({s.ip for s in profile.ips})
        self.device_accounts.update(profile.devices)
        self.key_accounts.update(_raw_keys(profile))


def _raw_keys(profile: AccountProfile) -> set[str]:
    keys = {f"e:{e}" for e in profile.emails}
    keys |= {f"f:{email_form(e)}" for e in profile.emails}
    keys |= {f"p:{p}" for p in profile.phones}
    keys |= {f"d:{d}" for d in profile.devices}
    keys |= {f"c:{c}" for c in profile.cameras}
    keys |= {f"$:{p}" for p in profile.payments}
    keys |= {f"h:{h}" for h in profile.unknown_files}
    keys |= {f"i:{s.ip}" for s in profile.ips if not s.proxy}
    keys |= {f"a:{stem}" for stem in profile.alias.stems if stem_information(stem) >= 3}
    return keys


@dataclass(frozen=True)
class IpSeen:
    ip: str
    t: int  # seconds since the epoch, to the hour
    accounts: int  # how many accounts this address was seen with


@dataclass(frozen=True)
class AccountColumns:
    """One account as the model sees it (also the row splink's table holds)."""

    unique_id: int
    key: str
    alias_written: str
    alias_stem: str
    alias_stems: tuple[str, ...]
    alias_tokens: tuple[str, ...]
    stem_letters: int
    emails: tuple[str, ...]
    email_forms: tuple[str, ...]
    phones: tuple[str, ...]
    devices: tuple[str, ...]
    cameras: tuple[str, ...]
    payments: tuple[str, ...]
    files: tuple[str, ...]
    ip_seen: tuple[IpSeen, ...]
    victim: bool
    block_keys: tuple[str, ...]


def account_columns(profile: AccountProfile, population: Population) -> AccountColumns:
    seen: dict[tuple[str, int], IpSeen] = {}
    for sighting in profile.ips:
        if sighting.proxy or sighting.seen_at is None:
            continue  # a provider-flagged proxy, or an address without a time, links nobody
        hour = int(sighting.seen_at.timestamp()) // 3600 * 3600
        key = (sighting.ip, hour)
        if key not in seen:
            seen[key] = IpSeen(sighting.ip, hour, population.ip_accounts[sighting.ip])
    ip_seen = tuple(sorted(seen.values(), key=lambda s: (s.ip, s.t)))[:MAX_IP_SIGHTINGS]
    devices = tuple(
        sorted(d for d in profile.devices if population.device_accounts[d] <= DEVICE_CROWD_ACCOUNTS)
    )
    block_keys = tuple(
        sorted(
            k
            for k in _raw_keys(profile)
            if population.key_accounts[k] <= BLOCKING_CROWD_ACCOUNTS
            and not (k.startswith("i:") and population.ip_accounts[k[2:]] > IP_CROWD_ACCOUNTS)
            and not (k.startswith("d:") and k[2:] not in devices)
        )
    )
    alias = profile.alias
    return AccountColumns(
        unique_id=profile.account_id,
        key=profile.key,
        alias_written=profile.username,
        alias_stem=alias.stem,
        alias_stems=alias.stems,
        alias_tokens=alias.tokens,
        stem_letters=stem_information(alias.stem),
        emails=tuple(sorted(profile.emails)),
        email_forms=tuple(sorted({email_form(e) for e in profile.emails})),
        phones=tuple(sorted(profile.phones)),
        devices=devices,
        cameras=tuple(sorted(profile.cameras)),
        payments=tuple(sorted(profile.payments)),
        files=tuple(sorted(profile.unknown_files)),
        ip_seen=ip_seen,
        victim=profile.victim,
        block_keys=block_keys,
    )


@dataclass(frozen=True)
class PairEvidence:
    """Everything two accounts share, in numbers a court can read back."""

    alias_similarity: float
    same_alias: bool  # same stem and same numeric suffix, under some reading
    same_stem: bool
    stem_letters: int  # the shorter of the two preferred stems, in letters
    shared_emails: tuple[str, ...]
    shared_email_forms: tuple[str, ...]
    shared_phones: tuple[str, ...]
    shared_devices: tuple[str, ...]
    shared_cameras: tuple[str, ...]
    shared_payments: tuple[str, ...]
    shared_files: tuple[str, ...]
    close_ips: tuple[str, ...]  # rare addresses both used within IP_WINDOW_SECONDS
    crowded_close_ips: tuple[str, ...]  # shared infrastructure: reported, counts little
    distant_ips: tuple[str, ...]  # rare addresses both used, but never within the window


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(a) & set(b)))


def _close_ips(a: tuple[IpSeen, ...], b: tuple[IpSeen, ...]) -> set[IpSeen]:
    by_ip: dict[str, list[int]] = {}
    for seen in b:
        by_ip.setdefault(seen.ip, []).append(seen.t)
    return {s for s in a if any(abs(t - s.t) <= IP_WINDOW_SECONDS for t in by_ip.get(s.ip, ()))}


def compare(a: AccountColumns, b: AccountColumns) -> PairEvidence:
    close = _close_ips(a.ip_seen, b.ip_seen)
    rare = tuple(sorted({s.ip for s in close if s.accounts <= IP_CROWD_ACCOUNTS}))
    crowded = tuple(sorted({s.ip for s in close if s.accounts > IP_CROWD_ACCOUNTS}))
    emails = _shared(a.emails, b.emails)
    forms = tuple(f for f in _shared(a.email_forms, b.email_forms) if f not in emails)
    return PairEvidence(
        alias_similarity=stem_similarity(a.alias_stem, b.alias_stem),
        same_alias=bool(set(a.alias_tokens) & set(b.alias_tokens)),
        same_stem=bool(set(a.alias_stems) & set(b.alias_stems)),
        stem_letters=min(a.stem_letters, b.stem_letters),
        shared_emails=emails,
        shared_email_forms=forms,
        shared_phones=_shared(a.phones, b.phones),
        shared_devices=_shared(a.devices, b.devices),
        shared_cameras=_shared(a.cameras, b.cameras),
        shared_payments=_shared(a.payments, b.payments),
        shared_files=_shared(a.files, b.files),
        close_ips=rare,
        crowded_close_ips=crowded,
        distant_ips=tuple(
            sorted(
                {s.ip for s in a.ip_seen if s.accounts <= IP_CROWD_ACCOUNTS}
                & {s.ip for s in b.ip_seen} - set(rare)
            )
        ),
    )


def _listed(values: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def reasons(evidence: PairEvidence, a: AccountColumns, b: AccountColumns) -> list[str]:
    """The evidence in words and numbers, strongest first; what a link record stores."""
    out: list[str] = []
    if evidence.shared_emails:
        out.append(f"same email {_listed(evidence.shared_emails)}")
    if evidence.shared_email_forms:
        out.append(
            f"email addresses that may be one mailbox {_listed(evidence.shared_email_forms)}"
        )
    if evidence.shared_phones:
        out.append(f"same phone {_listed(evidence.shared_phones)}")
    if evidence.shared_cameras:
        out.append(f"same camera serial {_listed(evidence.shared_cameras)}")
    if evidence.shared_files:
        n = len(evidence.shared_files)
        out.append(f"{n} shared unknown file{'s' if n > 1 else ''} (sent or uploaded by both)")
    if evidence.shared_payments:
        out.append(f"same payment account {_listed(evidence.shared_payments)}")
    if evidence.shared_devices:
        out.append(f"same device {_listed(evidence.shared_devices)}")
    if evidence.alias_similarity >= 0.8:
        out.append(
            f"alias similarity {evidence.alias_similarity:.2f} "
            f"{a.alias_written}~{b.alias_written} (stems {a.alias_stem}~{b.alias_stem})"
        )
    if evidence.close_ips:
        n = len(evidence.close_ips)
        out.append(
            f"{n} shared IP{'s' if n > 1 else ''} within 24 h ({_listed(evidence.close_ips)})"
        )
    if evidence.distant_ips and not evidence.close_ips:
        n = len(evidence.distant_ips)
        out.append(f"{n} shared IP{'s' if n > 1 else ''} but never within 24 h, not counted")
    if evidence.crowded_close_ips:
        n = len(evidence.crowded_close_ips)
        out.append(
            f"{n} shared IP{'s' if n > 1 else ''} within 24 h used by many accounts, "
            "counted as weak"
        )
    return out
