"""One typed reading of what every account did: the evidence identity, countries and the
network all start from, so they cannot disagree about it.

An account is a ``username`` selector with a platform. What it did is read from the store once:
- the selectors seen on it (every ``Sighting`` whose ``account_id`` names it);
- the IPs it used, from those sightings and from the events it acted in, each with the
  provider's proxy/CGNAT flag (``possible_proxy``), so every reader skips the same ones;
- its actions (events it was the actor of: messages, file sends, uploads, posts, logins),
  with their targets, room, file, and whether any hash set knows the file;
- the provider reports that name it as the reported person (verified country, incident);
- the venues it runs (phpBB founder or administrator, IRC channel operator);
- whether a report names it as a victim, and the sources it was seen in.

phpBB system accounts (``user_type`` 2: the anonymous user and the search-engine bots) are
evidence of nothing: they are listed in ``system_accounts`` and nowhere else, so they never
become subjects and never appear in the network.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vigil.store.extras import EventExtra, SightingExtra, Subscriber
from vigil.store.models import Event, File, Match, Selector, Sighting

SEND_EVENT_KIND = "file_transfer"  # exactly the contract's file sends; provider files are "upload"


@dataclass(frozen=True)
class IpUse:
    """An address the account used, when, and whether the provider flagged it as a proxy."""

    ip: str
    selector_id: int
    seen_at: datetime | None
    proxy: bool = False


@dataclass(frozen=True)
class SeenSelector:
    selector_id: int
    kind: str
    value: str


@dataclass(frozen=True)
class Action:
    """An event the account was the actor of. ``targets`` are selector ids, unfiltered."""

    event_id: int
    kind: str
    occurred_at: datetime | None
    source_id: int
    targets: tuple[int, ...] = ()
    room: str | None = None
    file_id: int | None = None
    file_sha256: str | None = None
    file_known: bool = False
    """Some hash set matches the file (exactly, nearly or as video)."""
    send_key: str | None = None
    """Names the send action (source and the format's own send id): a DM to three people is
    three events but one send."""

    @property
    def is_send(self) -> bool:
        return self.kind == SEND_EVENT_KIND


@dataclass(frozen=True)
class ProviderReport:
    """A provider report naming this account as the reported person."""

    report_id: str
    provider: str | None
    country: str | None
    incident_type: str | None


@dataclass(frozen=True)
class VenueRole:
    role: str  # founder, administrator, owner, operator
    room: str | None = None


@dataclass
class AccountActivity:
    account_id: int
    platform: str
    username: str
    selectors: dict[int, SeenSelector] = field(default_factory=dict)
    ips: list[IpUse] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    reports: list[ProviderReport] = field(default_factory=list)
    venue_roles: set[VenueRole] = field(default_factory=set)
    victim: bool = False
    system: bool = False
    sources: set[int] = field(default_factory=set)

    def selectors_of_kind(self, kind: str) -> set[str]:
        return {s.value for s in self.selectors.values() if s.kind == kind}


@dataclass(frozen=True)
class Activity:
    accounts: dict[int, AccountActivity]
    """Every account but the system ones, in id order."""
    system_accounts: frozenset[int]
    subscribers: dict[int, list[Subscriber]]
    """Selector id -> the ISP subscriber returns naming it (IPs, and their emails/phones)."""


def _is_victim(context: str | None, extra: SightingExtra) -> bool:
    return bool(context and "victim" in context.lower()) or extra.is_victim


def read_activity(session: Session, sources: Select | None = None) -> Activity:
    """Read what every account did, in three queries (accounts, sightings, events).

    With ``sources`` (a query of source ids), only what those sources say: the accounts
    seen or acting in them, or the targets of what was done there. A referral package reads
    the evidence so, through the referring agency's reach (``vigil.store.reach``), so that
    a priority and its reasons never rest on another agency's sources.
    """
    everyone = {
        s.id: AccountActivity(s.id, s.platform, s.display or s.value)
        for s in session.scalars(
            select(Selector).where(Selector.kind == "username").order_by(Selector.id)
        )
    }
    subscribers: dict[int, list[Subscriber]] = defaultdict(list)
    sightings = select(
        Sighting.account_id,
        Sighting.source_id,
        Sighting.selector_id,
        Sighting.seen_at,
        Sighting.context,
        Sighting.extra,
        Selector.kind,
        Selector.value,
    ).join(Selector, Selector.id == Sighting.selector_id)
    if sources is not None:
        sightings = sightings.where(Sighting.source_id.in_(sources))
    rows = session.execute(sightings)
    for account_id, source_id, selector_id, seen_at, context, raw, kind, value in rows:
        extra = SightingExtra.of(raw)
        if extra.subscriber is not None and extra.subscriber.country:
            subscribers[selector_id].append(extra.subscriber)
        account = everyone.get(account_id) if account_id is not None else None
        if account is None:
            continue
        account.sources.add(source_id)
        if selector_id == account_id:
            _read_own_sighting(account, context, extra)
            continue
        account.selectors[selector_id] = SeenSelector(selector_id, kind, value)
        if kind == "ip":
            account.ips.append(IpUse(value, selector_id, seen_at, extra.possible_proxy))
    _read_events(session, everyone, sources)
    if sources is not None:
        everyone = _evidenced(everyone)
    system = frozenset(a for a, activity in everyone.items() if activity.system)
    return Activity(
        accounts={a: activity for a, activity in everyone.items() if a not in system},
        system_accounts=system,
        subscribers=dict(subscribers),
    )


def _evidenced(accounts: dict[int, AccountActivity]) -> dict[int, AccountActivity]:
    """The accounts the sources read say anything of: seen there, acting there, or the
    target of something done there."""
    targets = {t for a in accounts.values() for action in a.actions for t in action.targets}
    return {
        account_id: activity
        for account_id, activity in accounts.items()
        if activity.sources or activity.actions or account_id in targets
    }


def _read_own_sighting(account: AccountActivity, context: str | None, extra: SightingExtra) -> None:
    account.victim = account.victim or _is_victim(context, extra)
    account.system = account.system or extra.is_system_account
    if extra.is_reported:
        account.reports.append(
            ProviderReport(
                extra.report_id or "",
                account.platform or None,
                extra.country,
                extra.incident_type,
            )
        )
    role = extra.venue_role
    if role is not None:
        account.venue_roles.add(VenueRole(role, extra.channel))


def _read_events(
    session: Session, accounts: dict[int, AccountActivity], sources: Select | None
) -> None:
    ip_values = dict(
        session.execute(select(Selector.id, Selector.value).where(Selector.kind == "ip")).all()
    )
    known = set(session.scalars(select(Match.file_id).distinct()))
    events = (
        select(
            Event.id,
            Event.actor_id,
            Event.kind,
            Event.occurred_at,
            Event.source_id,
            Event.target_id,
            Event.room,
            Event.ip_id,
            Event.file_id,
            Event.extra,
            File.sha256,
        )
        .outerjoin(File, File.id == Event.file_id)
        .where(Event.actor_id.is_not(None))
        .order_by(Event.id)
    )
    if sources is not None:
        events = events.where(Event.source_id.in_(sources))
    rows = session.execute(events)
    for event_id, actor_id, kind, at, source_id, target_id, room, ip_id, file_id, raw, sha in rows:
        account = accounts.get(actor_id)
        if account is None:
            continue
        extra = EventExtra.of(raw)
        if ip_id is not None and ip_id in ip_values:
            account.ips.append(IpUse(ip_values[ip_id], ip_id, at, extra.possible_proxy))
            account.selectors.setdefault(ip_id, SeenSelector(ip_id, "ip", ip_values[ip_id]))
        account.actions.append(
            Action(
                event_id=event_id,
                kind=kind,
                occurred_at=at,
                source_id=source_id,
                targets=(target_id,) if target_id is not None else extra.recipients,
                room=room,
                file_id=file_id,
                file_sha256=sha,
                file_known=file_id in known,
                send_key=f"{source_id}:{extra.send}" if extra.send is not None else None,
            )
        )
