"""The plain data the network engine reads and returns; workflows convert store rows to these.

The engine never sees the store, so it can be tested on hand-made fixtures, benchmarked
alone and run anywhere. Ids are the store's ids (account = the username ``Selector`` id,
subject = ``Subject`` id, file = ``File`` id), so results map straight back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AccountInfo:
    """An online account: a username selector on one platform, maybe linked to a subject."""

    id: int
    platform: str
    username: str
    subject_id: int | None = None


@dataclass(frozen=True)
class SubjectInfo:
    id: int
    label: str
    role: str = "suspect"


@dataclass(frozen=True)
class FileFacts:
    """What is known about one file's content, for severity.

    ``alert``: an exact or near match in an alert hash set. ``new``: no match in any set
    (alert or ignorable), or grouped into a series: material nobody has catalogued yet.
    """

    id: int
    sha256: str | None = None
    md5: str | None = None
    alert: bool = False
    new: bool = False
    category: str | None = None
    series: str | None = None


@dataclass(frozen=True)
class Interaction:
    """One event reduced to what the network needs.

    ``targets`` are recipient accounts (a DM's recipient, or everyone in an IRC room when a
    DCC SEND was offered there). ``room`` is the room, channel or forum topic it happened in.
    """

    kind: str
    actor: int
    targets: tuple[int, ...] = ()
    room: str | None = None
    file_id: int | None = None
    occurred_at: datetime | None = None
    is_send: bool = False
    """A file send (docs/formats.md); False for messages and for provider-reported uploads."""
    send_key: str | None = None
    """Names the send action, so a DM to three people (three events) is one send."""


@dataclass(frozen=True)
class Holding:
    """A file found on a subject's seized device."""

    subject_id: int
    file_id: int


@dataclass
class NetworkInput:
    subjects: list[SubjectInfo]
    accounts: list[AccountInfo]
    files: list[FileFacts] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    holdings: list[Holding] = field(default_factory=list)
    contact_indicators: dict[int, int] = field(default_factory=dict)
    """Per subject: how many provider reports flag a contact offence (e.g. enticement)."""
    platform_roles: dict[int, list[str]] = field(default_factory=dict)
    """Per subject: the venues it runs, e.g. "Lantern Board founder", "NightNet #x operator"."""


@dataclass(frozen=True)
class ScoreTerm:
    """One part of a priority score: what it measures, the raw figure, and the points."""

    name: str
    value: float
    points: float
    text: str


@dataclass(frozen=True)
class RankedSubject:
    subject_id: int
    label: str
    score: float
    degree: int
    betweenness: float
    pagerank: float
    kcore: int
    community: int
    files_distributed: int
    distinct_files_distributed: int
    recipients: int
    alert_files: int
    new_files: int
    contact_indicators: int
    platform_roles: list[str]
    reasons: list[str]
    terms: list[ScoreTerm]


@dataclass(frozen=True)
class Community:
    id: int
    size: int
    members: list[int]
    """Subject ids, highest priority first."""


@dataclass(frozen=True)
class PathStep:
    """One node on an evidence path and, except for the last, the evidence to the next."""

    node: str
    kind: str
    label: str
    evidence: str | None


@dataclass
class NetworkResult:
    ranking: list[RankedSubject]
    communities: list[Community]
    betweenness_sampled: bool
