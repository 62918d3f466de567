"""Plain dataclasses shared by the synth modules: the invented world and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Account:
    platform: str
    username: str
    account_id: str | None
    ip: str | None = None  # the address this account is usually seen from
    email: str | None = None
    device_id: str | None = None
    active_days: tuple[int, int] | None = None  # days after the start it is active, else all


@dataclass
class Person:
    id: str
    role: str  # admin|distributor|collector|producer|victim
    country: str
    name: str | None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    ips: list[str] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)
    isp: str | None = None
    accounts: list[Account] = field(default_factory=list)
    seized_devices: list[str] = field(default_factory=list)
    camera: tuple[str, str, str] | None = None  # make, model, serial

    def accounts_on(self, platform: str) -> list[Account]:
        return [a for a in self.accounts if a.platform == platform]


@dataclass(frozen=True)
class FalseFriend:
    kind: str  # cgnat_ip|common_alias|family_computer
    value: str
    persons: tuple[str, ...]


@dataclass
class MediaFile:
    """One file's content and digests, generated in memory and written where needed."""

    name: str
    data: bytes
    md5: str
    sha1: str
    sha256: str
    kind: str  # known|near|unknown|series|ignorable|other|video|truncated
    pdq: str | None = None
    pdq_quality: int | None = None
    origin: str | None = None  # sha256 of the known original (near-duplicates)
    series_id: str | None = None
    camera: tuple[str, str, str] | None = None
    is_image: bool = False
    is_video: bool = False
    mime: str | None = None

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Send:
    """One file send (docs/formats.md): an action by an account carrying one file."""

    platform: str
    sender: str  # username as written
    file_sha256: str
    recipients: tuple[str, ...]  # usernames on the same platform
    at: datetime


@dataclass
class SeriesTruth:
    id: str
    producer: str
    camera_serial: str
    sha256: list[str]
