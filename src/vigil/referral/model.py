"""The plain content of one referral package, filled by the refer workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ReferredSubject:
    id: int
    label: str
    role: str
    country: str | None
    country_basis: str | None
    priority: float | None
    accounts: list[dict[str, str]]
    """``{platform, username}`` each."""
    selectors: list[dict[str, str]]
    """``{kind, value}`` each: emails, phones, IPs, devices..."""
    reasons: list[str] = field(default_factory=list)
    files_distributed: int = 0
    recipients: int = 0


@dataclass(frozen=True)
class EvidenceFile:
    """A file by its hashes and what the hash sets say of it; never its bytes."""

    sha256: str | None
    md5: str | None
    sha1: str | None
    size_bytes: int | None
    category: str | None
    status: str
    """``known-alert``, ``new`` (no match, or in a series), or ``other``."""
    series: str | None
    subjects: list[int]


@dataclass(frozen=True)
class EvidenceSource:
    id: int
    kind: str
    name: str
    sha256: str


@dataclass
class PackageContent:
    reference: str
    country: str
    sending_agency: str
    prepared_by: str
    prepared_at: datetime
    subjects: list[ReferredSubject]
    files: list[EvidenceFile]
    event_counts: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    sources: list[EvidenceSource]
    cases: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
