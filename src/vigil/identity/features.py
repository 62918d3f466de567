"""Pairwise evidence between two accounts, and the per-account columns it is computed from.

``Population`` counts how many accounts carry each identifier, because an identifier seen
with many unrelated accounts (a CGNAT or VPN exit address, a shared family computer)
says little about any one of them. ``AccountColumns`` is one account reduced to what the
model compares; the same columns go into splink's DuckDB table and into ``compare``, so the
SQL levels in ``model`` and the Python evidence here describe the same facts.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from vigil.identity.aliases import (
    LONG_STEM_LETTERS,
    AliasForm,
    fold_alias,
    stem_information,
    stem_similarity,
)
from vigil.identity.profiles import AccountProfile

IP_WINDOW_SECONDS = 24 * 3600
# A residential address stays with one subscriber for days: a shared address within a week
# still counts, less than one within a day (ISP subscriber returns use 7-day windows).
IP_WEEK_SECONDS = 7 * 24 * 3600
# Beyond a month a shared address is not counted at all: it may have changed hands.
IP_MONTH_SECONDS = 30 * 24 * 3600
# An address seen with more accounts than this is treated as shared infrastructure.
IP_CROWD_ACCOUNTS = 6
# A device on more accounts than this is a shop or library computer, not a person's.
DEVICE_CROWD_ACCOUNTS = 6
# A new file sent by more accounts than this is circulating, not one person's own.
FILE_CROWD_ACCOUNTS = 2
# Identifiers on more accounts than this are not used to find candidate pairs.
BLOCKING_CROWD_ACCOUNTS = 50
# Distinct (address, hour) sightings kept per account: enough to find overlaps.
MAX_IP_SIGHTINGS = 400
# An address behind which at most this many accounts sit is a home line: sharing it counts
# even months apart (the same subscriber keeps a residential address for a long time).
HOME_IP_ACCOUNTS = 3
# An alias core (handle or stem) on at most this many accounts in the whole store is rare
# there: one person's few accounts, not a name many people pick (term frequency).
RARE_ALIAS_ACCOUNTS = 5
# Shorter stems are names many people pick whatever the store says (john, mike, alex).
RARE_STEM_LETTERS = 6
RARE_HANDLE_LETTERS = 5
# An email address or phone number on more accounts than this is a placeholder or a shared
# family contact, not one person's: it no longer links outright.
CONTACT_CROWD_ACCOUNTS = 10

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


class Counts:
    """How many accounts carry each value, held by the value's hash.

    A store's identifiers, counted as strings, weigh more than the accounts' columns (every
    email, address, handle and stem of every account, about 1.5 KB an account); at ten
    million accounts that alone outgrows a machine. Only what a count is used for matters:
    whether a value is on more accounts than a threshold, and every threshold is two or more.
    So values are counted by their 64-bit ``hash`` in numpy, and only the values on two or more
    accounts are kept for lookup; a value looked up that is not kept counts as one (it is the
    looking account's own, or on no account at all: below every threshold either way).

    Two values with one hash would share a count, which can only make them look more crowded
    and so link less: precision is safe, and at 64 bits it is rare (about one chance in ten
    thousand among fifty million values). ``hash`` is Python's own, stable within a process,
    which is as long as a count lives.
    """

    __slots__ = ("_counts", "_hashes", "_pending", "_shared")

    def __init__(self) -> None:
        self._pending: array[int] = array("q")
        self._hashes = np.empty(0, np.int64)  # every value's hash, sorted
        self._counts = np.empty(0, np.int64)
        self._shared: dict[int, int] = {}  # hash -> count, for counts of two or more

    def update(self, values: Iterable[str]) -> None:
        """One account's values (each counted once, as the caller passes a set); counted
        when ``settle`` is next called."""
        self._pending.extend(map(hash, values))

    def __getitem__(self, value: str) -> int:
        # the hot path of building columns (a dozen lookups an account): nothing but the lookup
        return self._shared.get(hash(value), 1)

    def settle(self) -> None:
        """Count what ``update`` added since the last call."""
        if not self._pending:
            return
        hashes = np.concatenate([self._hashes, np.frombuffer(self._pending, np.int64)])
        counts = np.concatenate([self._counts, np.ones(len(self._pending), np.int64)])
        self._pending = array("q")
        order = np.argsort(hashes, kind="stable")
        hashes, counts = hashes[order], counts[order]
        starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
        self._hashes, self._counts = hashes[starts], np.add.reduceat(counts, starts)
        shared = self._counts >= 2
        self._shared = dict(
            zip(self._hashes[shared].tolist(), self._counts[shared].tolist(), strict=True)
        )


@dataclass
class Population:
    """How many accounts carry each identifier, over everything being resolved."""

    ip_accounts: Counts = field(default_factory=Counts)
    device_accounts: Counts = field(default_factory=Counts)
    file_accounts: Counts = field(default_factory=Counts)
    key_accounts: Counts = field(default_factory=Counts)
    alias_accounts: Counts = field(default_factory=Counts)  # "t:" tokens, "s:" stems
    contact_accounts: Counts = field(default_factory=Counts)  # emails and phones

    @classmethod
    def of(cls, profiles: Iterable[AccountProfile]) -> Population:
        population = cls()
        for profile in profiles:
            population.add(profile)
        population.settle()
        return population

    def settle(self) -> None:
        """Count what was added since the last call (``of`` calls it; so must whoever calls
        ``add`` before reading counts)."""
        for counts in (
            self.ip_accounts,
            self.device_accounts,
            self.file_accounts,
            self.key_accounts,
            self.alias_accounts,
            self.contact_accounts,
        ):
            counts.settle()

    def add(self, profile: AccountProfile) -> None:
        self.ip_accounts.update({s.ip for s in profile.ips})
        self.device_accounts.update(profile.devices)
        self.file_accounts.update(profile.unknown_files)
        self.contact_accounts.update(profile.emails | profile.phones)
        forms = handles(profile)
        self.alias_accounts.update(
            {f"t:{t}" for form in forms for t in form.tokens}
            | {f"s:{stem}" for form in forms for stem in form.stems}
        )
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
    keys |= {f"a:{stem}" for stem in handle_stems(profile) if stem_information(stem) >= 3}
    return keys


def handles(profile: AccountProfile) -> tuple[AliasForm, ...]:
    """The username and the local parts of the account's emails: people reuse one handle
    for both (``sonofgod77@...`` behind ``Son_of_god``)."""
    if not profile.emails:
        return (profile.alias,)
    return (profile.alias, *(fold_alias(e.rpartition("@")[0]) for e in sorted(profile.emails)))


def handle_stems(profile: AccountProfile) -> tuple[str, ...]:
    forms = handles(profile)
    if len(forms) == 1:
        return forms[0].stems
    return tuple(dict.fromkeys(stem for form in forms for stem in form.stems))


@dataclass(frozen=True, slots=True)
class IpSeen:
    ip: str
    t: int  # seconds since the epoch, to the hour
    accounts: int  # how many accounts this address was seen with


@dataclass(frozen=True, slots=True)
class AccountColumns:
    """One account as the model sees it (also the row splink's table holds)."""

    unique_id: int
    key: str
    alias_written: str
    alias_stem: str
    alias_stems: tuple[str, ...]
    alias_long_stems: tuple[str, ...]
    alias_tokens: tuple[str, ...]
    alias_distinctive: tuple[str, ...]
    alias_rare_distinctive: tuple[str, ...]  # as alias_distinctive, on few accounts in the store
    alias_rare_tokens: tuple[str, ...]  # handles of 5+ letters on few accounts in the store
    alias_few_tokens: tuple[str, ...]  # handles of any length on few accounts in the store
    alias_rare_long_stems: tuple[str, ...]
    alias_rare_stems: tuple[str, ...]  # stems of 6+ letters on few accounts in the store
    platform: str
    stem_letters: int
    emails: tuple[str, ...]
    email_forms: tuple[str, ...]
    phones: tuple[str, ...]
    devices: tuple[str, ...]
    cameras: tuple[str, ...]
    payments: tuple[str, ...]
    files: tuple[str, ...]
    ip_seen: tuple[IpSeen, ...]
    countries: tuple[str, ...]
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
            and not (k.startswith("h:") and population.file_accounts[k[2:]] > FILE_CROWD_ACCOUNTS)
        )
    )
    alias = profile.alias
    forms = handles(profile)
    stems = tuple(dict.fromkeys(stem for form in forms for stem in form.stems))
    tokens = tuple(dict.fromkeys(t for form in forms for t in form.tokens))
    distinctive_tokens = tuple(dict.fromkeys(t for form in forms for t in form.distinctive_tokens))

    # rarity is judged on each handle's preferred reading only: the second reading of
    # ``mike12`` (``mikei`` + 2) is a folding artefact, not a name anyone picked
    preferred = {f"{form.stem}|{form.suffix}" for form in forms} | {form.stem for form in forms}

    def rare(prefix: str, values: tuple[str, ...], letters: int) -> tuple[str, ...]:
        return tuple(
            v
            for v in values
            if v in preferred
            and population.alias_accounts[f"{prefix}:{v}"] <= RARE_ALIAS_ACCOUNTS
            and stem_information(v.partition("|")[0]) >= letters
        )

    long_stems = tuple(s for s in stems if stem_information(s) >= LONG_STEM_LETTERS)

    def uncrowded(values: frozenset[str]) -> tuple[str, ...]:
        return tuple(
            sorted(v for v in values if population.contact_accounts[v] <= CONTACT_CROWD_ACCOUNTS)
        )

    emails = uncrowded(profile.emails)
    return AccountColumns(
        unique_id=profile.account_id,
        key=profile.key,
        alias_written=profile.username,
        alias_stem=alias.stem,
        alias_stems=stems,
        alias_long_stems=long_stems,
        alias_tokens=tokens,
        alias_distinctive=distinctive_tokens,
        alias_rare_distinctive=rare("t", distinctive_tokens, 0),
        alias_rare_tokens=rare("t", tokens, RARE_HANDLE_LETTERS),
        alias_few_tokens=rare("t", tokens, 0),
        alias_rare_long_stems=rare("s", long_stems, 0),
        alias_rare_stems=rare("s", stems, RARE_STEM_LETTERS),
        platform=profile.platform.casefold(),
        stem_letters=stem_information(alias.stem),
        emails=emails,
        email_forms=tuple(sorted({email_form(e) for e in emails})),
        phones=uncrowded(profile.phones),
        devices=devices,
        cameras=tuple(sorted(profile.cameras)),
        payments=tuple(sorted(profile.payments)),
        files=tuple(
            sorted(
                f
                for f in profile.unknown_files
                if population.file_accounts[f] <= FILE_CROWD_ACCOUNTS
            )
        ),
        ip_seen=ip_seen,
        countries=tuple(sorted(profile.countries)),
        victim=profile.victim,
        block_keys=block_keys,
    )


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """Everything two accounts share, in numbers a court can read back."""

    alias_similarity: float
    same_rare_distinctive_alias: bool  # as same_distinctive_alias, on few accounts in the store
    same_rare_alias: bool  # same handle of 5+ letters, on few accounts in the store
    same_few_alias: bool  # same handle of any length, on few accounts in the store
    same_rare_long_stem: bool
    same_rare_stem: bool  # same stem of 6+ letters, on few accounts in the store
    same_distinctive_alias: bool  # as same_alias, for a handle few would pick by chance
    same_alias: bool  # same stem and number, under some reading of a username or email handle
    same_long_stem: bool
    same_stem: bool
    same_platform: bool
    shared_countries: tuple[str, ...]
    stem_letters: int  # the shorter of the two preferred stems, in letters
    shared_emails: tuple[str, ...]
    shared_email_forms: tuple[str, ...]
    shared_phones: tuple[str, ...]
    shared_devices: tuple[str, ...]
    shared_cameras: tuple[str, ...]
    shared_payments: tuple[str, ...]
    shared_files: tuple[str, ...]
    close_ips: tuple[str, ...]  # rare addresses both used within IP_WINDOW_SECONDS
    week_ips: tuple[str, ...]  # rare addresses both used within a week, not within a day
    month_ips: tuple[str, ...]  # rare addresses both used within 30 days, not within a week
    home_ips: tuple[str, ...]  # addresses of HOME_IP_ACCOUNTS accounts at most, months apart
    crowded_close_ips: tuple[str, ...]  # shared infrastructure: reported, counts little
    distant_ips: tuple[str, ...]  # rare addresses both used, but never within 30 days


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(a) & set(b)))


def _close_ips(a: tuple[IpSeen, ...], b: tuple[IpSeen, ...], window: int) -> set[IpSeen]:
    by_ip: dict[str, list[int]] = {}
    for seen in b:
        by_ip.setdefault(seen.ip, []).append(seen.t)
    return {s for s in a if any(abs(t - s.t) <= window for t in by_ip.get(s.ip, ()))}


def compare(a: AccountColumns, b: AccountColumns) -> PairEvidence:
    close = _close_ips(a.ip_seen, b.ip_seen, IP_WINDOW_SECONDS)
    rare = tuple(sorted({s.ip for s in close if s.accounts <= IP_CROWD_ACCOUNTS}))
    crowded = tuple(sorted({s.ip for s in close if s.accounts > IP_CROWD_ACCOUNTS}))
    week = _close_ips(a.ip_seen, b.ip_seen, IP_WEEK_SECONDS)
    week_rare = {s.ip for s in week if s.accounts <= IP_CROWD_ACCOUNTS} - set(rare)
    month = _close_ips(a.ip_seen, b.ip_seen, IP_MONTH_SECONDS)
    month_rare = {s.ip for s in month if s.accounts <= IP_CROWD_ACCOUNTS} - set(rare) - week_rare
    emails = _shared(a.emails, b.emails)
    forms = tuple(f for f in _shared(a.email_forms, b.email_forms) if f not in emails)
    distant = (
        {s.ip for s in a.ip_seen if s.accounts <= IP_CROWD_ACCOUNTS} & {s.ip for s in b.ip_seen}
    ) - (set(rare) | week_rare | month_rare)
    home = {s.ip for s in a.ip_seen if s.accounts <= HOME_IP_ACCOUNTS} & distant
    return PairEvidence(
        alias_similarity=stem_similarity(a.alias_stem, b.alias_stem),
        same_rare_distinctive_alias=bool(
            set(a.alias_rare_distinctive) & set(b.alias_rare_distinctive)
        ),
        same_rare_alias=bool(set(a.alias_rare_tokens) & set(b.alias_rare_tokens)),
        same_few_alias=bool(set(a.alias_few_tokens) & set(b.alias_few_tokens)),
        same_rare_long_stem=bool(set(a.alias_rare_long_stems) & set(b.alias_rare_long_stems)),
        same_rare_stem=bool(set(a.alias_rare_stems) & set(b.alias_rare_stems)),
        same_distinctive_alias=bool(set(a.alias_distinctive) & set(b.alias_distinctive)),
        same_alias=bool(set(a.alias_tokens) & set(b.alias_tokens)),
        same_long_stem=bool(set(a.alias_long_stems) & set(b.alias_long_stems)),
        same_stem=bool(set(a.alias_stems) & set(b.alias_stems)),
        same_platform=a.platform == b.platform,
        shared_countries=_shared(a.countries, b.countries),
        stem_letters=min(a.stem_letters, b.stem_letters),
        shared_emails=emails,
        shared_email_forms=forms,
        shared_phones=_shared(a.phones, b.phones),
        shared_devices=_shared(a.devices, b.devices),
        shared_cameras=_shared(a.cameras, b.cameras),
        shared_payments=_shared(a.payments, b.payments),
        shared_files=_shared(a.files, b.files),
        close_ips=rare,
        week_ips=tuple(sorted(week_rare)),
        month_ips=tuple(sorted(month_rare)),
        home_ips=tuple(sorted(home)),
        crowded_close_ips=crowded,
        distant_ips=tuple(sorted(distant)),
    )
