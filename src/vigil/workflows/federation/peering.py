"""Signed calls between nodes: the sending side (``PeerClient``) and the receiving side
(``authenticate``), which every peer endpoint runs before it touches anything else.

A request is refused, with nothing written, when it is unsigned, from an agency this node has
not pinned, signed by another key, outside the clock window, or a replay of a nonce already
accepted. Only an authenticated request leaves a trace: its nonce, which is also what the
per-peer rate limit counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.errors import VigilError
from vigil.federation.signing import (
    ReplayRefused,
    RequestRefused,
    Signer,
    check_request,
    parse_public_key,
    read_headers,
)
from vigil.federation.transport import Transport
from vigil.store.db import Store
from vigil.store.models import Agency, FederationNode, Peer, PeerNonce

API_PREFIX = "/federation/v1"


class PeerRefused(VigilError):
    """A peer answered, but refused: its own one-line reason is kept."""


class RateLimited(RequestRefused):
    http_status = 429


def agency_path(agency: str, endpoint: str) -> str:
    return f"{API_PREFIX}/agencies/{agency}/{endpoint}"


@dataclass
class PeerClient:
    signer: Signer
    transport: Transport

    def call(self, peer: Peer, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        path = agency_path(peer.code, endpoint)
        headers = self.signer.headers("POST", path, body)
        response = self.transport.send(peer.url, "POST", path, body, headers)
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            answer = {"error": response.body[:200].decode("utf-8", "replace")}
        if response.status != 200:
            reason = answer.get("detail") or answer.get("error") or f"HTTP {response.status}"
            raise PeerRefused(f"{peer.code} refused {endpoint}: {reason}")
        if not isinstance(answer, dict):
            raise PeerRefused(f"{peer.code} answered {endpoint} with something that is not JSON")
        return answer


@dataclass(frozen=True)
class Caller:
    """The receiving agency and the peer that signed the request."""

    agency_id: int
    agency_code: str
    peer_id: int
    peer_code: str
    selectors_per_hour: int


def authenticate(
    store: Store,
    agency_code: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    selectors: int = 0,
    now: datetime | None = None,
) -> Caller:
    """Verify the request and record its nonce; raises ``RequestRefused`` having written nothing."""
    signed = read_headers(headers)
    with store.transaction() as session:
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
        has_node = (
            agency is not None
            and session.scalars(
                select(FederationNode.id).where(FederationNode.agency_id == agency.id)
            ).first()
        )
        if agency is None or not has_node:
            raise RequestRefused(f"no federated agency {agency_code!r} on this node")
        peer = session.scalars(
            select(Peer).where(Peer.agency_id == agency.id, Peer.code == signed.agency)
        ).first()
        if peer is None or peer.status != "active":
            raise RequestRefused(f"unknown peer {signed.agency!r}: not pinned by {agency_code}")
        check_request(signed, [parse_public_key(peer.public_key)], method, path, body, now)
        if _seen(session, peer.id, signed.nonce):
            raise ReplayRefused(f"replayed request: nonce already used by {peer.code}")
        if selectors:
            _check_rate(session, peer, selectors, now)
        session.add(
            PeerNonce(peer_id=peer.id, nonce=signed.nonce, path=path[:200], selectors=selectors)
        )
        try:
            session.flush()
        except IntegrityError as exc:
            raise ReplayRefused(f"replayed request: nonce already used by {peer.code}") from exc
        return Caller(agency.id, agency.code, peer.id, peer.code, peer.selectors_per_hour)


def _seen(session: Session, peer_id: int, nonce: str) -> bool:
    found = session.scalars(
        select(PeerNonce.id).where(PeerNonce.peer_id == peer_id, PeerNonce.nonce == nonce)
    ).first()
    return found is not None


def _check_rate(session: Session, peer: Peer, selectors: int, now: datetime | None) -> None:
    since = (now or datetime.now(UTC)) - timedelta(hours=1)
    used = session.scalar(
        select(func.coalesce(func.sum(PeerNonce.selectors), 0)).where(
            PeerNonce.peer_id == peer.id, PeerNonce.received_at >= since
        )
    )
    if int(used or 0) + selectors > peer.selectors_per_hour:
        raise RateLimited(
            f"rate limit: {peer.code} may have {peer.selectors_per_hour} selectors evaluated "
            f"per hour and has used {used}"
        )
