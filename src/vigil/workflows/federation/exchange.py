"""Referrals between agencies: a durable outbox on the sending side, an inbox on the
receiving side, and outcomes flowing back.

A message waits in the outbox until the peer acknowledges it, so a peer that is down gets it
when it is back; each carries an idempotency key that the receiver keeps, so a message sent
twice (an acknowledgement lost on the way) is stored once. A package travels whole: its files,
its manifest's SHA-256 and the sender's Ed25519 signature over reference and manifest hash.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError
from vigil.federation import keys
from vigil.federation.packages import package_files, package_message, verify_message
from vigil.federation.signing import (
    RequestRefused,
    b64,
    parse_public_key,
    public_key_text,
    unb64,
    verify_signature,
)
from vigil.federation.transport import PeerUnreachable, Transport
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    FederationNode,
    OutboxMessage,
    Peer,
    PeerOutcome,
    Referral,
    ReferralStatus,
    ReferralSubject,
    utcnow,
)
from vigil.workflows.federation.node import active_peers, node_keys, node_row
from vigil.workflows.federation.peering import Caller, PeerClient, PeerRefused

ENDPOINTS = {"referral": "referrals", "outcome": "outcomes", "key": "keys"}


@dataclass(frozen=True)
class Delivery:
    delivered: int
    pending: int
    refused: int
    errors: list[str]


# --- sending ------------------------------------------------------------------------------


def send_referrals(
    store: Store, actor: Actor, transport: Transport, referral_ids: list[int]
) -> Delivery:
    """Queue each referral for the peer serving its country, then try to deliver everything."""
    with store.transaction() as session:
        signer = node_keys(session, actor.agency_id, actor.agency_code).signer
        for referral_id in referral_ids:
            referral = session.get(Referral, referral_id)
            if referral is None or referral.agency_id != actor.agency_id:
                raise NotFound(f"no referral {referral_id}")
            peer = _serving_peer(session, actor.agency_id, referral.country)
            key = f"{actor.agency_code}:referral:{referral.id}:{referral.sha256[:16]}"
            if session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
            ).first():
                continue  # already queued or sent: sending again would not be "once"
            subjects = list(
                session.scalars(
                    select(ReferralSubject.subject_id).where(
                        ReferralSubject.referral_id == referral.id
                    )
                )
            )
            files = package_files(Path(referral.package_path))
            payload = package_message(signer, key, referral.id, referral.sha256, files, subjects)
            session.add(
                OutboxMessage(
                    agency_id=actor.agency_id,
                    peer_id=peer.id,
                    kind="referral",
                    idempotency_key=key,
                    payload=json.dumps(payload),
                    referral_id=referral.id,
                )
            )
            _status(session, referral, "queued", actor.user_id, f"for {peer.code}")
            audit.append(
                session,
                actor,
                "referral.queue",
                "referral",
                referral.id,
                {"peer": peer.code, "idempotency_key": key, "manifest_sha256": referral.sha256},
            )
    return deliver_pending(store, actor, transport)


def check_sendable(store: Store, actor: Actor, country: str | None) -> None:
    """Refuse a send before any package is written: a referral prepared for sending that
    cannot be sent (no federation identity, no peer serving its country) would be left
    prepared, and sending again means preparing a new package. Every country (``None``) is
    checked per package, as it is queued."""
    with store.reading() as session:
        node_keys(session, actor.agency_id, actor.agency_code)
        if country is not None:
            _serving_peer(session, actor.agency_id, country)


def served_countries(store: Store, actor: Actor) -> set[str]:
    """The countries an active peer of the agency serves: where ``--all --send`` sends."""
    with store.reading() as session:
        return {peer.country for peer in active_peers(session, actor) if peer.country}


def serving_peer(session: Session, agency_id: int, country: str | None) -> Peer | None:
    """The active peer serving ``country``: the first pinned, where several serve it (the
    check, the send and ``refer``'s reuse of a package on its way then agree on it)."""
    return session.scalars(
        select(Peer)
        .where(Peer.agency_id == agency_id, Peer.country == country, Peer.status == "active")
        .order_by(Peer.id)
    ).first()


def _serving_peer(session: Session, agency_id: int, country: str | None) -> Peer:
    """``serving_peer``, or a one-line refusal saying how to add one."""
    peer = serving_peer(session, agency_id, country)
    if peer is None:
        raise UsageError(
            f"no peer serves {country}; add one with "
            f"`vigil peer add CODE URL --public-key KEY --country {country}`"
        )
    return peer


def _status(session: Any, referral: Referral, status: str, user_id: int, note: str) -> None:
    referral.status = status
    session.add(ReferralStatus(referral_id=referral.id, status=status, user_id=user_id, note=note))


def deliver_pending(store: Store, actor: Actor, transport: Transport) -> Delivery:
    """Try every pending message of this agency once; what cannot be delivered stays.

    No transaction is open while a peer is asked: on SQLite one would hold the store's write
    lock for as long as a slow peer takes to answer, and every other write (a sign-in, an
    outcome, a job's lease) would wait. Each answer is then recorded in a short transaction
    of its own, against the message as it stands then (another delivery may have recorded
    it meanwhile; the receiver keeps the idempotency key, so a message sent twice is stored
    once). A peer that cannot be reached is not asked again in the same run, and a disabled
    one is not asked at all (`vigil peer disable`: nothing more is sent to it).
    """
    with store.reading() as session:
        pending = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.agency_id == actor.agency_id, OutboxMessage.state == "pending")
                .order_by(OutboxMessage.id)
            )
        )
        directory = Path(node_row(session, actor.agency_id).keys_dir) if pending else None
    delivered = refused = 0
    errors: list[str] = []
    unreachable: set[int] = set()  # peers
    for message_id in pending:
        assert directory is not None
        with store.reading() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.state != "pending":
                continue
            peer = session.get(Peer, message.peer_id)
            assert peer is not None
            kind, payload = message.kind, json.loads(message.payload)
        if peer.id in unreachable or peer.status != "active":
            continue  # a disabled peer is sent nothing more; it waits for `peer enable`
        signer = keys.load_signer(directory, actor.agency_code, previous=kind == "key")
        state, error = "delivered", None
        try:
            PeerClient(signer, transport).call(peer, ENDPOINTS[kind], payload)
        except PeerUnreachable as exc:
            state, error = "pending", str(exc)
            unreachable.add(peer.id)
        except PeerRefused as exc:
            state, error = "refused", str(exc)
        if not _record_attempt(store, actor, message_id, peer.code, state, error):
            continue
        if error is not None:
            errors.append(error)
        delivered += state == "delivered"
        refused += state == "refused"
    return Delivery(delivered, outbox_counts(store, actor)["pending"], refused, errors)


def _record_attempt(
    store: Store, actor: Actor, message_id: int, peer_code: str, state: str, error: str | None
) -> bool:
    """One delivery attempt's result, unless another delivery recorded the message meanwhile
    (the row is locked for the check on PostgreSQL, and SQLite writes one transaction at a
    time). Two deliveries at once may both send it; the receiver keeps it once and may refuse
    the second copy, so a delivery recorded after such a refusal still counts."""
    with store.transaction() as session:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
        ).one()
        if message.state == "delivered" or (message.state != "pending" and state != "delivered"):
            return False  # a delivery wins over a refusal recorded meanwhile, never the reverse
        message.attempts += 1
        message.state = state
        message.last_error = error
        if state != "delivered":
            return True
        message.delivered_at = utcnow()
        if message.referral_id is not None:
            referral = session.get(Referral, message.referral_id)
            if referral is not None and referral.status == "queued":
                _status(session, referral, "sent", actor.user_id, f"delivered to {peer_code}")
        audit.append(
            session,
            actor,
            f"outbox.deliver.{message.kind}",
            "outbox_message",
            message.id,
            {
                "peer": peer_code,
                "idempotency_key": message.idempotency_key,
                "attempts": message.attempts,
            },
        )
    return True


@dataclass(frozen=True)
class OutboxRow:
    """One message as the outbox lists it: where it goes and how it fared, never its payload
    (a referral's carries the selectors it refers)."""

    id: int
    peer: str
    kind: str
    state: str
    attempts: int
    last_error: str | None
    referral_id: int | None
    created_at: str
    delivered_at: str | None


def list_outbox(store: Store, actor: Actor, limit: int | None = None) -> list[OutboxRow]:
    """The agency's outbox, newest first (the newest ``limit``): what waits, what went and
    what a peer refused. The payloads stay in the store: a referral's is its whole package."""
    with store.reading() as session:
        rows = session.execute(
            select(
                OutboxMessage.id,
                Peer.code,
                OutboxMessage.kind,
                OutboxMessage.state,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
                OutboxMessage.referral_id,
                OutboxMessage.created_at,
                OutboxMessage.delivered_at,
            )
            .join(Peer, Peer.id == OutboxMessage.peer_id)
            .where(OutboxMessage.agency_id == actor.agency_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        ).all()
    return [
        OutboxRow(
            *row[:7],
            created_at=row.created_at.isoformat(),
            delivered_at=row.delivered_at.isoformat() if row.delivered_at else None,
        )
        for row in rows
    ]


def outbox_counts(store: Store, actor: Actor) -> Counter[str]:
    """How many of the agency's messages are in each state (``pending``: waiting for delivery),
    in one query."""
    with store.reading() as session:
        rows = session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.agency_id == actor.agency_id)
            .group_by(OutboxMessage.state)
        )
        return Counter({state: int(count) for state, count in rows})


def rotate_signing_key(store: Store, actor: Actor, transport: Transport) -> str:
    """A new signing key; every peer is told through a request signed by the old one."""
    with store.transaction() as session:
        node = node_row(session, actor.agency_id)
        directory = Path(node.keys_dir)
        keys.rotate_signing_key(directory)
        signer = keys.load_signer(directory, actor.agency_code)
        node.signing_public_key = public_key_text(signer.public_key)
        node.rotated_at = utcnow()
        proof = signer.sign(_rotation_statement(actor.agency_code, node.signing_public_key))
        for peer in session.scalars(
            select(Peer).where(Peer.agency_id == actor.agency_id, Peer.status == "active")
        ):
            session.add(
                OutboxMessage(
                    agency_id=actor.agency_id,
                    peer_id=peer.id,
                    kind="key",
                    idempotency_key=f"{actor.agency_code}:key:{node.signing_public_key}:{peer.code}",
                    payload=json.dumps(
                        {"public_key": node.signing_public_key, "proof": b64(proof)}
                    ),
                )
            )
        audit.append(
            session,
            actor,
            "federation.rotate",
            "federation_node",
            node.id,
            {"public_key": node.signing_public_key},
        )
        new_key = node.signing_public_key
    deliver_pending(store, actor, transport)
    return new_key


def _rotation_statement(agency: str, public_key: str) -> bytes:
    return f"vigil-key-rotation-v1\n{agency}\n{public_key}".encode()


# --- receiving ----------------------------------------------------------------------------


def receive_key(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    """The request is signed by the pinned (old) key; the new key proves its own possession."""
    new_text = str(payload.get("public_key", ""))
    new_key = parse_public_key(new_text)
    proof = unb64(str(payload.get("proof", "")), "the key proof")
    if not verify_signature(new_key, _rotation_statement(caller.peer_code, new_text), proof):
        raise RequestRefused("the new key's proof of possession does not verify")
    with store.transaction() as session:
        peer = session.get(Peer, caller.peer_id)
        assert peer is not None
        old = peer.public_key
        peer.public_key = public_key_text(new_key)
        peer.key_changed_at = utcnow()
        audit.append(
            session,
            None,
            "peer.key_rotated",
            "peer",
            peer.id,
            {"peer": peer.code, "old": old, "new": peer.public_key},
        )
    return {"pinned": public_key_text(new_key)}


def receive_outcome(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    """An outcome for a subject this agency referred to the caller, recorded once."""
    from vigil.store.constants import OUTCOME_KINDS
    from vigil.workflows.referral.outcomes import parse_outcome_date

    try:
        referral_id = int(payload["referral_id"])
        subject_id = int(payload["subject_id"])
        kind = str(payload["kind"])
        key = str(payload["idempotency_key"])[:100]
    except (KeyError, TypeError, ValueError) as exc:
        raise RequestRefused(
            f"an outcome needs referral_id, subject_id, kind and key: {exc}"
        ) from exc
    if kind not in OUTCOME_KINDS:
        raise RequestRefused(f"unknown outcome kind {kind!r}")
    try:
        occurred = parse_outcome_date(payload.get("date"))
    except UsageError as exc:
        raise RequestRefused(str(exc)) from exc
    with store.transaction() as session:
        referral = session.get(Referral, referral_id)
        sent_to_caller = session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.referral_id == referral_id,
                OutboxMessage.peer_id == caller.peer_id,
                OutboxMessage.kind == "referral",
            )
        ).first()
        in_referral = session.scalars(
            select(ReferralSubject.id).where(
                ReferralSubject.referral_id == referral_id,
                ReferralSubject.subject_id == subject_id,
            )
        ).first()
        if referral is None or referral.agency_id != caller.agency_id or not sent_to_caller:
            raise NotFound(f"no referral {referral_id} was sent to {caller.peer_code}")
        if not in_referral:
            raise NotFound(f"subject {subject_id} is not in referral {referral_id}")
        existing = session.scalars(
            select(PeerOutcome).where(
                PeerOutcome.peer_id == caller.peer_id, PeerOutcome.idempotency_key == key
            )
        ).first()
        if existing is not None:
            return {"outcome_id": existing.id, "duplicate": True}
        outcome = PeerOutcome(
            peer_id=caller.peer_id,
            referral_id=referral_id,
            subject_id=subject_id,
            kind=kind,
            occurred_on=occurred,
            idempotency_key=key,
        )
        session.add(outcome)
        session.flush()
        if referral.status != "actioned":
            _status(
                session,
                referral,
                "actioned",
                referral.created_by,
                f"{kind} reported by {caller.peer_code}",
            )
        audit.append(
            session,
            None,
            "outcome.receive",
            "referral",
            referral_id,
            {
                "peer": caller.peer_code,
                "subject_id": subject_id,
                "kind": kind,
                "date": occurred.date().isoformat(),
            },
        )
        return {"outcome_id": outcome.id, "duplicate": False}


def receive_referral(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    from vigil.workflows.federation.inbox import store_received

    with store.reading() as session:
        peer = session.get(Peer, caller.peer_id)
        assert peer is not None
        pinned = parse_public_key(peer.public_key)
    message = verify_message(payload, caller.peer_code, [pinned])
    return store_received(store, caller, message)


def has_node(store: Store, actor: Actor) -> bool:
    with store.reading() as session:
        return (
            session.scalars(
                select(FederationNode.id).where(FederationNode.agency_id == actor.agency_id)
            ).first()
            is not None
        )
