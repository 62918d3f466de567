"""The identity engine's view of the evidence: one ``AccountProfile`` per account.

Built from the one reading of what every account did (``vigil.workflows.sources.activity``):
what was seen on the account and the IPs of the events it acted in. A file it sent or uploaded
counts as *unknown* when no hash set matches it: the same new image coming from two accounts
is strong evidence, a known one says nothing. An IP the provider flagged as a proxy links
nothing and places nobody. Victims are the accounts a provider report named as a victim.
System accounts (a forum's anonymous user and bots) get no profile, so never a subject.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.geo.countries import geolocate
from vigil.identity.profiles import AccountProfile, IpSighting, account_key
from vigil.store.models import Selector
from vigil.workflows.sources.activity import AccountActivity, Activity, read_activity

FILE_EVENT_KINDS = ("file_transfer", "upload", "post", "message")


@dataclass(frozen=True)
class StoreAccounts:
    profiles: list[AccountProfile]
    selectors: dict[int, Selector]  # account id -> its username selector
    seen_selectors: dict[int, set[int]]  # account id -> ids of selectors seen on it
    sources: dict[int, set[int]]  # account id -> ids of the sources it was seen in


def account_keys(loaded: StoreAccounts) -> dict[int, str]:
    """Account id -> ``platform:username``, as `vigil subjects` and the analyst write it."""
    return {i: account_key(s.platform, s.display or s.value) for i, s in loaded.selectors.items()}


def _unknown_files(activity: AccountActivity) -> frozenset[str]:
    return frozenset(
        action.file_sha256 or f"file:{action.file_id}"
        for action in activity.actions
        if action.file_id is not None and action.kind in FILE_EVENT_KINDS and not action.file_known
    )


def profile_of(activity: AccountActivity, located: dict[str, str | None]) -> AccountProfile:
    ips = tuple(IpSighting(use.ip, use.seen_at, use.proxy) for use in activity.ips)
    countries = {located.get(use.ip) for use in activity.ips if not use.proxy}
    return AccountProfile(
        account_id=activity.account_id,
        platform=activity.platform,
        username=activity.username,
        emails=frozenset(activity.selectors_of_kind("email")),
        phones=frozenset(activity.selectors_of_kind("phone")),
        devices=frozenset(activity.selectors_of_kind("device")),
        cameras=frozenset(activity.selectors_of_kind("camera")),
        payments=frozenset(activity.selectors_of_kind("payment")),
        ips=ips,
        unknown_files=_unknown_files(activity),
        countries=frozenset(c for c in countries if c),
        victim=activity.victim,
    )


def profiles_of(activity: Activity) -> list[AccountProfile]:
    """Every account's profile, geolocating all IPs in one batch."""
    located = geolocate(
        sorted({use.ip for account in activity.accounts.values() for use in account.ips})
    )
    return [profile_of(account, located) for account in activity.accounts.values()]


def load_accounts(session: Session) -> StoreAccounts:
    activity = read_activity(session)
    selectors = {
        s.id: s for s in session.scalars(select(Selector).where(Selector.kind == "username"))
    }
    return StoreAccounts(
        profiles_of(activity),
        {a: selectors[a] for a in activity.accounts},
        {
            a: set(account.selectors)
            for a, account in activity.accounts.items()
            if account.selectors
        },
        {a: account.sources for a, account in activity.accounts.items() if account.sources},
    )
