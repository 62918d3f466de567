"""The data model (docs/architecture.md) as SQLAlchemy 2 models.

These classes never leave the store layer's callers in workflows: engines take and return
plain dataclasses, and workflows convert at the boundary. The schema itself is created only by
the Alembic migrations in ``vigil/store/migrations``; a test checks that the two agree.

Conventions:
- every time is stored as UTC (``UTCDateTime``) and comes back timezone-aware;
- hashes are lowercase hex; countries are ISO 3166 alpha-2;
- a ``source_id`` on a row is its provenance: the Source says which document, with its
  SHA-256, and which agency and user brought it in, and when.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, so SQLite and PostgreSQL give identical values."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


# --- who ---------------------------------------------------------------------------------


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    contact: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


USER_ROLES = ("analyst", "investigator", "supervisor", "auditor", "admin")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("agency_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    agency: Mapped[Agency] = relationship()


class Case(Base):
    __tablename__ = "case_file"
    __table_args__ = (UniqueConstraint("agency_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    reference: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open")
    lead_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- provenance --------------------------------------------------------------------------


class Source(Base):
    """One ingested document or evidence item. The same bytes in the same case are one row.

    ``exhibit`` is the examiner's identity for seized media (see ``docs/reliability.md``):
    two devices that look alike are two exhibits, never one source. Documents leave it empty.
    """

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("case_id", "exhibit", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    original_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="complete")
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exhibit: Mapped[str] = mapped_column(String(600), default="", server_default="")


# --- identifiers and people --------------------------------------------------------------

SELECTOR_KINDS = (
    "username",
    "account",
    "email",
    "phone",
    "ip",
    "device",
    "camera",
    "payment",
    "url",
)


class Selector(Base):
    """An identifier, normalised. ``platform`` is '' where the kind has none."""

    __tablename__ = "selector"
    __table_args__ = (UniqueConstraint("kind", "platform", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(100), default="")
    value: Mapped[str] = mapped_column(String(500))
    display: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sighting(Base):
    """A selector seen in a source. ``account_id`` is the account it was seen on, if any."""

    __tablename__ = "sighting"
    __table_args__ = (
        Index("ix_sighting_selector_case", "selector_id", "case_id"),
        Index("ix_sighting_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    selector_id: Mapped[int] = mapped_column(ForeignKey("selector.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("selector.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    seen_at: Mapped[datetime | None] = mapped_column()
    context: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


SUBJECT_ROLES = ("suspect", "victim", "unknown")


class Subject(Base):
    __tablename__ = "subject"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="unknown")
    country: Mapped[str | None] = mapped_column(String(2))
    country_basis: Mapped[str | None] = mapped_column(Text)
    # subscriber | provider | ip-majority | unknown: what the country rests on, for filters
    country_basis_kind: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), default="open")
    priority: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubjectSelector(Base):
    """Why a selector or account belongs to a subject, and who decided it."""

    __tablename__ = "subject_selector"
    __table_args__ = (UniqueConstraint("subject_id", "selector_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id", ondelete="CASCADE"))
    selector_id: Mapped[int] = mapped_column(ForeignKey("selector.id"), index=True)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    reasons: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(20), default="model")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkDecision(Base):
    """An analyst's confirm or reject between two accounts; every later resolve obeys it."""

    __tablename__ = "link_decision"
    __table_args__ = (UniqueConstraint("selector_a_id", "selector_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selector_a_id: Mapped[int] = mapped_column(ForeignKey("selector.id"))
    selector_b_id: Mapped[int] = mapped_column(ForeignKey("selector.id"))
    decision: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


# --- content -----------------------------------------------------------------------------


class File(Base):
    """Content. Keyed by SHA-256 where known; a provider report may name a file by MD5 only."""

    __tablename__ = "file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(100))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    # The PDQs of the 7 other rotations and mirrors of the stored pixels, so a hash set
    # imported later still finds a rotated or mirrored copy without decoding the file again.
    pdq_dihedral: Mapped[list[Any] | None] = mapped_column(JSON)
    video_hash: Mapped[list[Any] | None] = mapped_column(JSON)
    exif_make: Mapped[str | None] = mapped_column(String(100))
    exif_model: Mapped[str | None] = mapped_column(String(100))
    exif_serial: Mapped[str | None] = mapped_column(String(100), index=True)
    exif_time: Mapped[datetime | None] = mapped_column()
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileInstance(Base):
    __tablename__ = "file_instance"
    __table_args__ = (UniqueConstraint("source_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    path: Mapped[str] = mapped_column(Text)
    modified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime | None] = mapped_column()
    accessed_at: Mapped[datetime | None] = mapped_column()
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    carved: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    # What went wrong reading this instance (never the content's: that is ``File.error``).
    problem: Mapped[str | None] = mapped_column(Text)
    # False when the bytes could not be read whole: no content hash; a rerun retries it.
    read_complete: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The name's bytes when they are not UTF-8 (``path`` shows them escaped as \\xNN).
    raw_path: Mapped[bytes | None] = mapped_column(LargeBinary)


class HashSet(Base):
    __tablename__ = "hash_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20))
    pdq_radius_bits: Mapped[int] = mapped_column(Integer, default=31)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class HashEntry(Base):
    __tablename__ = "hash_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash_set_id: Mapped[int] = mapped_column(
        ForeignKey("hash_set.id", ondelete="CASCADE"), index=True
    )
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64))
    photodna: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(50))
    series: Mapped[str | None] = mapped_column(String(200))
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    offender_identified: Mapped[bool | None] = mapped_column(Boolean)
    distributed: Mapped[bool | None] = mapped_column(Boolean)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Match(Base):
    __tablename__ = "file_match"
    __table_args__ = (UniqueConstraint("file_id", "hash_entry_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id"), index=True)
    hash_entry_id: Mapped[int] = mapped_column(ForeignKey("hash_entry.id", ondelete="CASCADE"))
    hash_set_id: Mapped[int] = mapped_column(ForeignKey("hash_set.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    distance_bits: Mapped[int | None] = mapped_column(Integer)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Series(Base):
    """Unknown images believed to come from one scene or camera: a child still to be found."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="unidentified")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"))
    camera_serial: Mapped[str | None] = mapped_column(String(100))
    reasons: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesFile(Base):
    __tablename__ = "series_file"
    __table_args__ = (UniqueConstraint("series_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id"), index=True)


# --- what happened -----------------------------------------------------------------------

EVENT_KINDS = ("message", "file_transfer", "upload", "post", "login", "ip_capture")


class Event(Base):
    """Distribution analysis reads these: who sent which file to whom, when, from which IP."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_actor_kind", "actor_id", "kind"),
        Index("ix_event_source", "source_id"),
        # A file's page lists the reports and messages that name it (docs/web.md).
        Index("ix_event_file", "file_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("selector.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("selector.id"))
    room: Mapped[str | None] = mapped_column(String(300))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("file.id"))
    ip_id: Mapped[int | None] = mapped_column(ForeignKey("selector.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    text: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- what came of it ---------------------------------------------------------------------


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str | None] = mapped_column(String(2))
    to_agency: Mapped[str | None] = mapped_column(String(200))
    package_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="prepared")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralSubject(Base):
    __tablename__ = "referral_subject"
    __table_args__ = (UniqueConstraint("referral_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))


class ReferralStatus(Base):
    """The status history of a referral; ``Referral.status`` is its latest entry."""

    __tablename__ = "referral_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Outcome(Base):
    __tablename__ = "outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[datetime | None] = mapped_column()
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaReveal(Base):
    """Each time a person chose to see a file. Counts toward that person's exposure."""

    __tablename__ = "media_reveal"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id"))
    revealed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    # How it was last shown (blur and greyscale start on; the person may lift each) and for
    # how long: the seconds the page reported the media on screen, and when it was closed.
    blurred: Mapped[bool] = mapped_column(Boolean, default=True)
    greyscale: Mapped[bool] = mapped_column(Boolean, default=True)
    seconds_on_screen: Mapped[float] = mapped_column(Float, default=0.0)
    ended_at: Mapped[datetime | None] = mapped_column()


class WelfarePolicy(Base):
    """An agency's exposure threshold: past it, a person is asked to take a break and their
    supervisor is told. One row per agency; without one, the defaults in
    ``vigil.workflows.welfare`` apply."""

    __tablename__ = "welfare_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), unique=True)
    reveals_per_day: Mapped[int] = mapped_column(Integer)
    minutes_per_day: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only; ``entry_hash`` covers ``prev_hash``, so an edit anywhere breaks the chain."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- federation: other agencies' nodes ----------------------------------------------------


class FederationNode(Base):
    """This agency's node: where peers reach it and its public keys. The private keys are
    files in ``keys_dir``, never rows."""

    __tablename__ = "federation_node"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), unique=True)
    url: Mapped[str | None] = mapped_column(String(500))
    signing_public_key: Mapped[str] = mapped_column(String(100))
    oprf_public_key: Mapped[str] = mapped_column(String(100))
    keys_dir: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column()


PEER_STATUSES = ("active", "disabled")


class Peer(Base):
    """Another agency's node, its pinned signing key and how much it may ask per hour."""

    __tablename__ = "peer"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    code: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    url: Mapped[str] = mapped_column(String(500))
    public_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    selectors_per_hour: Mapped[int] = mapped_column(Integer, default=100_000)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_changed_at: Mapped[datetime | None] = mapped_column()


class PeerNonce(Base):
    """Each signed request accepted from a peer: refuses replays, and counts toward its rate."""

    __tablename__ = "peer_nonce"
    __table_args__ = (UniqueConstraint("peer_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(200))
    selectors: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DeconflictionHit(Base):
    """This agency and a peer hold the same selector. ``selector_id`` is this agency's own
    selector; the peer's is never known, only its contact point and opaque reference."""

    __tablename__ = "deconfliction_hit"
    __table_args__ = (UniqueConstraint("agency_id", "peer_id", "direction", "selector_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id"))
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    selector_id: Mapped[int] = mapped_column(ForeignKey("selector.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    our_reference: Mapped[str] = mapped_column(String(100))
    their_reference: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(300))
    their_case: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """Something to deliver to a peer; kept until the peer confirms it, sent once by key."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id"))
    kind: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()


class InboxReferral(Base):
    """A referral package received from a peer, as received, until accepted or declined."""

    __tablename__ = "inbox_referral"
    __table_args__ = (UniqueConstraint("peer_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(100))
    their_referral_id: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    package: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="received")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class InboxSubject(Base):
    """A subject opened from an accepted referral, and the sender's id for that subject."""

    __tablename__ = "inbox_subject"
    __table_args__ = (UniqueConstraint("inbox_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inbox_referral.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    their_subject_id: Mapped[int] = mapped_column(Integer)


class PeerOutcome(Base):
    """An outcome a peer reported for a subject this agency referred to it."""

    __tablename__ = "peer_outcome"
    __table_args__ = (UniqueConstraint("peer_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peer.id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[datetime | None] = mapped_column()
    idempotency_key: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# The shared server's own rows (sessions, tokens, jobs, case sharing) live in their own module.
from vigil.store.models_server import (  # noqa: E402
    ApiToken as ApiToken,
)
from vigil.store.models_server import (  # noqa: E402
    CaseShare as CaseShare,
)
from vigil.store.models_server import (  # noqa: E402
    Job as Job,
)
from vigil.store.models_server import (  # noqa: E402
    LoginSession as LoginSession,
)
