"""Reading the store into identity profiles (contract C), and nothing else.

An account is a ``username`` selector with a platform. What was seen on it is every
``Sighting`` whose ``account_id`` names it, plus the IP of each event it acted in. A file it
sent or uploaded counts as *unknown* when no hash set matches it: the same new image coming
from two accounts is strong evidence, a known one says nothing. Victims are the accounts a
provider report named as a victim (sighting context or extra says so).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.geo.countries import geolocate
from vigil.identity.profiles import AccountProfile, IpSighting, account_key
from vigil.store.models import Event, File, LinkDecision, Match, Selector, Sighting

FILE_EVENT_KINDS = ("file_transfer", "upload", "post", "message")
_PROXY_KEYS = ("possibleProxy", "possible_proxy", "proxy")
_KIND_FIELDS = {
    "email": "emails",
    "phone": "phones",
    "device": "devices",
    "camera": "cameras",
    "payment": "payments",
}


@dataclass
class _Facts:
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    cameras: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    ips: list[IpSighting] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    victim: bool = False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y"}
    return bool(value)


def _is_victim(context: str | None, extra: dict[str, Any] | None) -> bool:
    if context and "victim" in context.lower():
        return True
    if not extra:
        return False
    role = extra.get("role") or extra.get("party")
    return _truthy(extra.get("victim")) or (isinstance(role, str) and role.lower() == "victim")


def _is_proxy(extra: dict[str, Any] | None) -> bool:
    return bool(extra) and any(_truthy(extra.get(key)) for key in _PROXY_KEYS)


@dataclass(frozen=True)
class StoreAccounts:
    profiles: list[AccountProfile]
    selectors: dict[int, Selector]  # account id -> its username selector
    seen_selectors: dict[int, set[int]]  # account id -> ids of selectors seen on it
    sources: dict[int, set[int]]  # account id -> ids of the sources it was seen in


def account_keys(loaded: StoreAccounts) -> dict[int, str]:
    """Account id -> ``platform:username``, as `vigil subjects` and the analyst write it."""
    return {i: account_key(s.platform, s.display or s.value) for i, s in loaded.selectors.items()}


def load_accounts(session: Session) -> StoreAccounts:
    accounts = {
        s.id: s
        for s in session.scalars(
            select(Selector).where(Selector.kind == "username").order_by(Selector.id)
        )
    }
    facts: dict[int, _Facts] = defaultdict(_Facts)
    seen: dict[int, set[int]] = defaultdict(set)
    sources: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(
            Sighting.account_id,
            Sighting.source_id,
            Sighting.selector_id,
            Sighting.seen_at,
            Sighting.context,
            Sighting.extra,
            Selector.kind,
            Selector.value,
        )
        .join(Selector, Selector.id == Sighting.selector_id)
        .where(Sighting.account_id.is_not(None))
    )
    for account_id, source_id, selector_id, seen_at, context, extra, kind, value in rows:
        if account_id not in accounts:
            continue
        sources[account_id].add(source_id)
        fact = facts[account_id]
        if selector_id == account_id:
            fact.victim = fact.victim or _is_victim(context, extra)
            continue
        seen[account_id].add(selector_id)
        if kind == "ip":
            fact.ips.append(IpSighting(value, seen_at, _is_proxy(extra)))
        elif kind in _KIND_FIELDS:
            getattr(fact, _KIND_FIELDS[kind]).add(value)
    _add_events(session, accounts, facts, seen)
    located = geolocate(sorted({s.ip for fact in facts.values() for s in fact.ips}))
    profiles = []
    for account_id, selector in accounts.items():
        fact = facts[account_id]
        countries = {located.get(s.ip) for s in fact.ips if not s.proxy}
        profiles.append(
            AccountProfile(
                account_id=account_id,
                platform=selector.platform,
                username=selector.display or selector.value,
                emails=frozenset(fact.emails),
                phones=frozenset(fact.phones),
                devices=frozenset(fact.devices),
                cameras=frozenset(fact.cameras),
                payments=frozenset(fact.payments),
                ips=tuple(fact.ips),
                unknown_files=frozenset(fact.files),
                countries=frozenset(c for c in countries if c),
                victim=fact.victim,
            )
        )
    return StoreAccounts(profiles, accounts, dict(seen), dict(sources))


def _add_events(
    session: Session,
    accounts: dict[int, Selector],
    facts: dict[int, _Facts],
    seen: dict[int, set[int]],
) -> None:
    ip_values = dict(
        session.execute(select(Selector.id, Selector.value).where(Selector.kind == "ip")).all()
    )
    known = {row[0] for row in session.execute(select(Match.file_id).distinct())}
    rows = session.execute(
        select(
            Event.actor_id, Event.kind, Event.occurred_at, Event.ip_id, Event.file_id, File.sha256
        )
        .outerjoin(File, File.id == Event.file_id)
        .where(Event.actor_id.is_not(None))
    )
    for actor_id, kind, occurred_at, ip_id, file_id, sha256 in rows:
        if actor_id not in accounts:
            continue
        fact = facts[actor_id]
        if ip_id is not None and ip_id in ip_values:
            fact.ips.append(IpSighting(ip_values[ip_id], occurred_at))
            seen[actor_id].add(ip_id)
        if file_id is not None and kind in FILE_EVENT_KINDS and file_id not in known:
            fact.files.add(sha256 or f"file:{file_id}")


def load_decisions(session: Session) -> list[LinkDecision]:
    return list(session.scalars(select(LinkDecision).order_by(LinkDecision.id)))
