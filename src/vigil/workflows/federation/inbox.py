"""Referral packages received from peers: kept as received, then accepted into a case or
declined by a person. Accepting verifies the sender's signature and every hash in the
manifest again (the row may have sat for days), then opens the case with the sender and the
manifest's SHA-256 as the provenance of everything it creates."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from vigil.errors import IntegrityViolation, NotFound, UsageError
from vigil.federation.packages import ReceivedPackage, message_files, verify_message
from vigil.federation.signing import RequestRefused, parse_public_key
from vigil.identity.selectors import SelectorError, normalise
from vigil.referral.package import MANIFEST_NAME, verify_package
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Case,
    InboxReferral,
    InboxSubject,
    OutboxMessage,
    Peer,
    Selector,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
    utcnow,
)
from vigil.workflows.federation.peering import Caller


@dataclass(frozen=True)
class InboxInfo:
    id: int
    peer: str
    reference: str
    state: str
    manifest_sha256: str
    subjects: int
    received_at: datetime
    case: str | None


def store_received(store: Store, caller: Caller, message: ReceivedPackage) -> dict[str, Any]:
    with store.transaction() as session:
        existing = session.scalars(
            select(InboxReferral).where(
                InboxReferral.peer_id == caller.peer_id,
                InboxReferral.idempotency_key == message.idempotency_key,
            )
        ).first()
        if existing is not None:
            return {"inbox_id": existing.id, "duplicate": True}
        row = InboxReferral(
            agency_id=caller.agency_id,
            peer_id=caller.peer_id,
            idempotency_key=message.idempotency_key,
            reference=message.reference,
            their_referral_id=message.referral_id,
            manifest_sha256=message.manifest_sha256,
            signature=message.signature,
            package=json.dumps(_as_stored(message)),
        )
        session.add(row)
        session.flush()
        audit.append(
            session,
            None,
            "inbox.receive",
            "inbox_referral",
            row.id,
            {
                "peer": caller.peer_code,
                "reference": message.reference,
                "manifest_sha256": message.manifest_sha256,
            },
        )
        return {"inbox_id": row.id, "duplicate": False}


def _as_stored(message: ReceivedPackage) -> dict[str, Any]:
    from vigil.federation.signing import b64

    return {
        "idempotency_key": message.idempotency_key,
        "referral_id": message.referral_id,
        "manifest_sha256": message.manifest_sha256,
        "subjects": message.subjects,
        "files": {name: b64(data) for name, data in message.files.items()},
        "signature": message.signature,
    }


def list_inbox(store: Store, actor: Actor) -> list[InboxInfo]:
    store.require_initialised()
    with store.reading() as session:
        rows = session.execute(
            select(InboxReferral, Peer.code, Case.reference)
            .join(Peer, Peer.id == InboxReferral.peer_id)
            .outerjoin(Case, Case.id == InboxReferral.case_id)
            .where(InboxReferral.agency_id == actor.agency_id)
            .order_by(InboxReferral.id)
        ).all()
        return [
            InboxInfo(
                row.id,
                code,
                row.reference,
                row.state,
                row.manifest_sha256,
                len(json.loads(row.package).get("subjects", [])),
                row.received_at,
                case_ref,
            )
            for row, code, case_ref in rows
        ]


def _pending(session: Session, actor: Actor, inbox_id: int) -> tuple[InboxReferral, Peer]:
    row = session.get(InboxReferral, inbox_id)
    if row is None or row.agency_id != actor.agency_id:
        raise NotFound(f"no referral {inbox_id} in the inbox")
    if row.state != "received":
        raise UsageError(f"inbox referral {inbox_id} is already {row.state}")
    peer = session.get(Peer, row.peer_id)
    assert peer is not None
    return row, peer


def _verified(row: InboxReferral, peer: Peer) -> dict[str, Any]:
    """The package again, from the row: signature, manifest hash, every listed file."""
    stored = json.loads(row.package)
    try:
        message = verify_message(stored, peer.code, [parse_public_key(peer.public_key)])
    except RequestRefused as exc:
        raise IntegrityViolation(f"inbox referral {row.id}: {exc}") from exc
    if message.manifest_sha256 != row.manifest_sha256:
        raise IntegrityViolation(f"inbox referral {row.id}: manifest hash changed since receipt")
    with tempfile.TemporaryDirectory(prefix="vigil-inbox-") as folder:
        for name, data in message_files(stored).items():
            if "/" in name or name.startswith("."):
                raise IntegrityViolation(f"inbox referral {row.id}: unsafe file name {name!r}")
            (Path(folder) / name).write_bytes(data)
        report = verify_package(Path(folder), row.manifest_sha256)
    if not report.ok:
        raise IntegrityViolation(f"inbox referral {row.id}: " + "; ".join(report.problems))
    manifest: dict[str, Any] = json.loads(message.files[MANIFEST_NAME])
    return manifest


def accept(store: Store, actor: Actor, inbox_id: int, case_reference: str) -> InboxInfo:
    if not case_reference.strip():
        raise UsageError("accepting a referral needs --case REF")
    store.require_initialised()
    with store.transaction() as session:
        row, peer = _pending(session, actor, inbox_id)
        manifest = _verified(row, peer)
        case = session.scalars(
            select(Case).where(Case.agency_id == actor.agency_id, Case.reference == case_reference)
        ).first()
        if case is None:
            case = Case(
                agency_id=actor.agency_id,
                reference=case_reference,
                title=f"Referral {row.reference} from {peer.code}",
                lead_user_id=actor.user_id,
            )
            session.add(case)
            session.flush()
        source = Source(
            kind="referral",
            original_name=f"{row.reference} ({MANIFEST_NAME} from {peer.code})",
            sha256=row.manifest_sha256,
            size_bytes=len(message_files(json.loads(row.package))[MANIFEST_NAME]),
            case_id=case.id,
            agency_id=actor.agency_id,
            user_id=actor.user_id,
            extra={
                "sender": peer.code,
                "inbox_id": row.id,
                "their_referral_id": row.their_referral_id,
                "reference": row.reference,
            },
        )
        session.add(source)
        session.flush()
        for referred in manifest.get("subjects", []):
            subject = _open_subject(session, actor, referred, source, case, peer.code)
            session.add(
                InboxSubject(
                    inbox_id=row.id, subject_id=subject.id, their_subject_id=int(referred["id"])
                )
            )
        row.state = "accepted"
        row.case_id = case.id
        row.decided_at = utcnow()
        row.decided_by = actor.user_id
        session.flush()
        audit.append(
            session,
            actor,
            "inbox.accept",
            "inbox_referral",
            row.id,
            {
                "peer": peer.code,
                "reference": row.reference,
                "case": case.reference,
                "manifest_sha256": row.manifest_sha256,
                "source_id": source.id,
            },
        )
    return next(i for i in list_inbox(store, actor) if i.id == inbox_id)


def _open_subject(
    session: Session,
    actor: Actor,
    referred: dict[str, Any],
    source: Source,
    case: Case,
    sender: str,
) -> Subject:
    subject = Subject(
        label=str(referred.get("label") or f"referred by {sender}")[:300],
        role=str(referred.get("role") or "suspect"),
        country=referred.get("country"),
        country_basis=f"referral from {sender}",
        status="referred",
    )
    session.add(subject)
    session.flush()
    wanted: list[tuple[str, str, str]] = [
        ("username", str(a.get("platform", "")), str(a.get("username", "")))
        for a in referred.get("accounts", [])
    ]
    wanted += [
        (str(s.get("kind")), "", str(s.get("value", ""))) for s in referred.get("selectors", [])
    ]
    for kind, platform, raw in wanted:
        try:
            normalised = normalise(kind, raw)
        except SelectorError:
            continue
        selector = session.scalars(
            select(Selector).where(
                Selector.kind == kind,
                Selector.platform == platform,
                Selector.value == normalised.value,
            )
        ).first()
        if selector is None:
            selector = Selector(
                kind=kind, platform=platform, value=normalised.value, display=normalised.display
            )
            session.add(selector)
            session.flush()
        session.add(
            Sighting(
                selector_id=selector.id,
                source_id=source.id,
                case_id=case.id,
                agency_id=actor.agency_id,
                context=f"referral from {sender}",
            )
        )
        if not session.scalars(
            select(SubjectSelector.id).where(
                SubjectSelector.subject_id == subject.id, SubjectSelector.selector_id == selector.id
            )
        ).first():
            session.add(
                SubjectSelector(
                    subject_id=subject.id,
                    selector_id=selector.id,
                    confidence=1.0,
                    reasons=f"referred by {sender}",
                    decided_by="referral",
                    user_id=actor.user_id,
                )
            )
    session.flush()
    return subject


@dataclass(frozen=True)
class Overlap:
    """A subject opened from a peer's referral that shares selectors with one of our own.

    Shown to a person, never merged automatically: a shared IP or email is a reason to look,
    and precision comes first (docs/architecture.md)."""

    referred_subject_id: int
    referred_label: str
    own_subject_id: int
    own_label: str
    shared: list[str]

    def describe(self, shown: int = 5) -> str:
        more = len(self.shared) - shown
        return (
            f"referred subject {self.referred_subject_id} ({self.referred_label}) shares "
            f"{len(self.shared)} selector{'s' if len(self.shared) != 1 else ''} with our "
            f"subject {self.own_subject_id} ({self.own_label}): {', '.join(self.shared[:shown])}"
            + (f" and {more} more" if more > 0 else "")
            + "; review before linking"
        )


def own_overlaps(store: Store, actor: Actor, inbox_id: int) -> list[Overlap]:
    """Our own subjects that share a selector with a subject this accepted referral opened."""
    store.require_initialised()
    referred = aliased(SubjectSelector)
    own = aliased(SubjectSelector)
    referred_subject = aliased(Subject)
    own_subject = aliased(Subject)
    with store.reading() as session:
        row = session.get(InboxReferral, inbox_id)
        if row is None or row.agency_id != actor.agency_id:
            raise NotFound(f"no referral {inbox_id} in the inbox")
        opened = select(InboxSubject.subject_id).where(InboxSubject.inbox_id == inbox_id)
        rows = session.execute(
            select(
                referred_subject.id,
                referred_subject.label,
                own_subject.id,
                own_subject.label,
                Selector.kind,
                Selector.display,
            )
            .select_from(referred)
            .join(own, own.selector_id == referred.selector_id)
            .join(Selector, Selector.id == referred.selector_id)
            .join(referred_subject, referred_subject.id == referred.subject_id)
            .join(own_subject, own_subject.id == own.subject_id)
            .where(
                referred.subject_id.in_(opened),
                own.subject_id.not_in(opened),
                own_subject.role != "victim",
            )
            .order_by(referred_subject.id, own_subject.id, Selector.kind, Selector.display)
        ).all()
    found: dict[tuple[int, int], Overlap] = {}
    for ref_id, ref_label, own_id, own_label, kind, display in rows:
        overlap = found.setdefault(
            (ref_id, own_id), Overlap(ref_id, ref_label, own_id, own_label, [])
        )
        overlap.shared.append(f"{kind} {display}")
    return sorted(found.values(), key=lambda o: (-len(o.shared), o.referred_subject_id))


def decline(store: Store, actor: Actor, inbox_id: int, reason: str | None = None) -> InboxInfo:
    store.require_initialised()
    with store.transaction() as session:
        row, peer = _pending(session, actor, inbox_id)
        row.state = "declined"
        row.decided_at = utcnow()
        row.decided_by = actor.user_id
        audit.append(
            session,
            actor,
            "inbox.decline",
            "inbox_referral",
            row.id,
            {"peer": peer.code, "reference": row.reference, "reason": reason},
        )
    return next(i for i in list_inbox(store, actor) if i.id == inbox_id)


def queue_outcome_report(
    session: Session,
    actor: Actor,
    subject_id: int,
    kind: str,
    occurred: datetime,
    outcome_id: int,
) -> int:
    """An outcome for a subject that came from a peer's referral goes back to that peer."""
    rows = session.execute(
        select(InboxSubject, InboxReferral)
        .join(InboxReferral, InboxReferral.id == InboxSubject.inbox_id)
        .where(
            InboxSubject.subject_id == subject_id,
            InboxReferral.state == "accepted",
            InboxReferral.agency_id == actor.agency_id,
        )
    ).all()
    for link, inbox_row in rows:
        key = f"{actor.agency_code}:outcome:{outcome_id}:{inbox_row.id}"
        session.add(
            OutboxMessage(
                agency_id=actor.agency_id,
                peer_id=inbox_row.peer_id,
                kind="outcome",
                idempotency_key=key,
                payload=json.dumps(
                    {
                        "idempotency_key": key,
                        "referral_id": inbox_row.their_referral_id,
                        "subject_id": link.their_subject_id,
                        "kind": kind,
                        "date": occurred.date().isoformat(),
                    }
                ),
            )
        )
    return len(rows)
