"""What the engine knows about one account: plain data, built by the resolve workflow.

An account is a (platform, username) pair. Everything seen *on* it (emails, phones,
devices, camera serials, IP addresses with the time they were seen, files it sent or
uploaded that no hash set knows) is what links it to other accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vigil.identity.aliases import AliasForm, fold_alias


@dataclass(frozen=True, slots=True)
class IpSighting:
    """An address seen on an account. ``proxy`` is the provider's own CGNAT/VPN/proxy flag."""

    ip: str
    seen_at: datetime | None
    proxy: bool = False


@dataclass(slots=True)
class AccountProfile:
    account_id: int
    platform: str
    username: str
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    cameras: frozenset[str] = frozenset()
    payments: frozenset[str] = frozenset()
    ips: tuple[IpSighting, ...] = ()
    unknown_files: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()  # where its IPs are registered (ISO alpha-2)
    victim: bool = False
    alias: AliasForm = field(init=False)

    def __post_init__(self) -> None:
        self.alias = fold_alias(self.username)

    @property
    def key(self) -> str:
        """``platform:username``, casefolded: how analysts and outputs name an account."""
        return account_key(self.platform, self.username)


def account_key(platform: str, username: str) -> str:
    return f"{platform.casefold()}:{username.casefold()}"


def subject_label(platform: str, username: str) -> str:
    """A subject's name after one of its accounts: ``username (platform)``, as written."""
    return f"{username} ({platform})"


def parse_account_key(text: str) -> tuple[str, str]:
    """Split ``platform:username`` at the first colon (usernames may contain colons)."""
    platform, sep, username = text.partition(":")
    if not sep or not platform or not username:
        raise ValueError(f"an account is written platform:username, not {text!r}")
    return platform, username
