"""The plain content of the operation report, filled by the report workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Figures:
    suspects: int
    victims: int
    countries: int
    unknown_country: int
    accounts: int
    files: int
    known_alert_files: int
    new_files: int
    series: int
    events: int
    file_sends: int
    sources: int
    referrals: int
    outcomes: int


@dataclass(frozen=True)
class CountryRow:
    country: str
    suspects: int
    by_basis: dict[str, int]
    referral: str
    """Latest referral's reference and status, or ``-``."""


@dataclass(frozen=True)
class DistributorRow:
    rank: int
    subject_id: int
    label: str
    country: str
    score: float
    files_distributed: int
    distinct_files: int
    recipients: int
    alert_files: int
    new_files: int
    community: int
    reasons: list[str]


@dataclass(frozen=True)
class CommunityRow:
    id: int
    size: int
    countries: int
    leading: list[str]


@dataclass(frozen=True)
class SeriesRow:
    label: str
    status: str
    files: int
    camera_serial: str


@dataclass(frozen=True)
class ReferralRow:
    id: int
    reference: str
    country: str
    subjects: int
    status: str
    sha256: str
    outcomes: int


@dataclass(frozen=True)
class OutcomeRow:
    subject_id: int
    label: str
    country: str
    kind: str
    date: str


@dataclass(frozen=True)
class CoreNode:
    key: str
    label: str
    score: float
    community: int


@dataclass(frozen=True)
class CoreEdge:
    a: str
    b: str
    weight: float


@dataclass
class ReportData:
    title: str
    agency: str
    generated_at: datetime
    figures: Figures
    countries: list[CountryRow]
    distributors: list[DistributorRow]
    communities: list[CommunityRow]
    series: list[SeriesRow]
    referrals: list[ReferralRow]
    outcomes: list[OutcomeRow]
    outcome_counts: dict[str, int]
    core_nodes: list[CoreNode] = field(default_factory=list)
    core_edges: list[CoreEdge] = field(default_factory=list)
