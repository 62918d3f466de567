"""This node's identity (keys on disk, public halves in the store) and its pinned peers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError
from vigil.federation import keys
from vigil.federation.keys import NodeKeys
from vigil.federation.signing import b64, parse_public_key, public_key_text
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import PEER_STATUSES, Agency, FederationNode, Peer, utcnow

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class Identity:
    agency: str
    country: str | None
    url: str | None
    public_key: str
    oprf_public_key: str
    contact: str | None


@dataclass(frozen=True)
class PeerInfo:
    code: str
    country: str | None
    url: str
    public_key: str
    status: str
    selectors_per_hour: int
    added_at: datetime


def _check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        raise UsageError(f"a node URL is http(s)://host[:port][/path]: {url!r}")
    return url


def node_row(session: Session, agency_id: int) -> FederationNode:
    node = session.scalars(
        select(FederationNode).where(FederationNode.agency_id == agency_id)
    ).first()
    if node is None:
        raise NotFound("this agency has no federation identity; run `vigil federation init`")
    return node


def node_keys(session: Session, agency_id: int, agency_code: str) -> NodeKeys:
    return keys.load_keys(Path(node_row(session, agency_id).keys_dir), agency_code)


def _identity(session: Session, agency: Agency) -> Identity:
    node = node_row(session, agency.id)
    return Identity(
        agency.code,
        agency.country,
        node.url,
        node.signing_public_key,
        node.oprf_public_key,
        agency.contact,
    )


def init_node(
    store: Store,
    actor: Actor,
    keys_dir: Path | None,
    *,
    url: str | None = None,
    contact: str | None = None,
) -> Identity:
    """Make the keys (once) and record their public halves; again, it only updates url/contact.

    ``keys_dir`` is where a new node's keys go. A node that has keys keeps them: ``None``
    means its own folder, and another folder is taken only if it holds those same keys (they
    were moved). A folder without them would mean a new identity that every peer refuses, so
    it is refused here; a new signing key is `vigil federation rotate-key`, which tells peers.
    """
    store.require_initialised()
    with store.reading() as session:
        existing = session.scalars(
            select(FederationNode).where(FederationNode.agency_id == actor.agency_id)
        ).first()
        known_key = existing.signing_public_key if existing is not None else None
        known_oprf = existing.oprf_public_key if existing is not None else None
        if keys_dir is None:
            if existing is None:
                raise UsageError("a new federation node needs a folder for its keys")
            keys_dir = Path(existing.keys_dir)
    keys_dir = keys_dir.expanduser().resolve()
    if known_key is not None:
        if not keys.has_keys(keys_dir):
            raise UsageError(
                f"this node's keys are not in {keys_dir}; `federation init` keeps the node's "
                "keys (a new signing key is `vigil federation rotate-key`)"
            )
        made = False
    else:
        made = keys.create_keys(keys_dir)
    loaded = keys.load_keys(keys_dir, actor.agency_code)
    # Both halves: another OPRF key would not be refused by anyone, it would silently make
    # this node's deconfliction tokens match nothing its peers hold.
    if known_key is not None and (
        public_key_text(loaded.signer.public_key) != known_key
        or b64(loaded.oprf.public_key) != known_oprf
    ):
        raise UsageError(
            f"{keys_dir} holds other keys than this node's ({known_key}); "
            "`federation init` keeps the node's keys"
        )
    with store.transaction() as session:
        agency = session.get(Agency, actor.agency_id)
        assert agency is not None
        node = session.scalars(
            select(FederationNode).where(FederationNode.agency_id == agency.id)
        ).first()
        if node is None:
            node = FederationNode(agency_id=agency.id, keys_dir=str(keys_dir))
            session.add(node)
        node.keys_dir = str(keys_dir)
        node.signing_public_key = public_key_text(loaded.signer.public_key)
        node.oprf_public_key = b64(loaded.oprf.public_key)
        if url is not None:
            node.url = _check_url(url)
        if contact is not None:
            agency.contact = contact.strip()
        session.flush()
        audit.append(
            session,
            actor,
            "federation.init",
            "federation_node",
            node.id,
            {
                "keys_created": made,
                "public_key": node.signing_public_key,
                "url": node.url,
                "contact": agency.contact,
            },
        )
        return _identity(session, agency)


def identity(store: Store, actor: Actor) -> Identity:
    store.require_initialised()
    with store.reading() as session:
        agency = session.get(Agency, actor.agency_id)
        assert agency is not None
        return _identity(session, agency)


def add_peer(
    store: Store,
    actor: Actor,
    code: str,
    url: str,
    public_key: str,
    *,
    country: str | None = None,
    selectors_per_hour: int | None = None,
) -> PeerInfo:
    """Pin a peer's signing key. Adding the same peer again updates its URL, key and country."""
    if not _CODE.match(code):
        raise UsageError(f"agency code must be 1-32 letters, digits, '.', '_' or '-': {code!r}")
    key_text = public_key_text(parse_public_key(public_key))
    url = _check_url(url)
    if country is not None:
        country = country.strip().upper()
        if not re.match(r"^[A-Z]{2}$", country):
            raise UsageError(f"country must be an ISO 3166 alpha-2 code: {country!r}")
    if selectors_per_hour is not None and selectors_per_hour < 1:
        raise UsageError("--selectors-per-hour must be at least 1")
    store.require_initialised()
    with store.transaction() as session:
        if code == actor.agency_code:
            raise UsageError(f"{code} is this agency; a peer is another agency's node")
        peer = session.scalars(
            select(Peer).where(Peer.agency_id == actor.agency_id, Peer.code == code)
        ).first()
        if peer is None:
            peer = Peer(agency_id=actor.agency_id, code=code, status="active")
            session.add(peer)
        peer.url = url
        peer.public_key = key_text
        peer.country = country
        if selectors_per_hour is not None:
            peer.selectors_per_hour = selectors_per_hour
        session.flush()
        audit.append(
            session,
            actor,
            "peer.add",
            "peer",
            peer.id,
            {"code": code, "url": url, "country": country, "public_key": key_text},
        )
        return _peer_info(peer)


def set_peer_status(store: Store, actor: Actor, code: str, status: str) -> PeerInfo:
    """Disable a peer (it is refused at once and nothing more is sent to it; its hits and
    referrals stay on record) or enable it again. Setting the status it has changes nothing."""
    if status not in PEER_STATUSES:
        raise UsageError(f"a peer's status is one of {', '.join(PEER_STATUSES)}: {status!r}")
    store.require_initialised()
    with store.transaction() as session:
        peer = session.scalars(
            select(Peer).where(Peer.agency_id == actor.agency_id, Peer.code == code)
        ).first()
        if peer is None:
            raise NotFound(f"no peer {code!r}; `vigil peer list` shows them")
        if peer.status != status:
            previous, peer.status = peer.status, status
            audit.append(
                session,
                actor,
                "peer.enable" if status == "active" else "peer.disable",
                "peer",
                peer.id,
                {"code": code, "from": previous, "to": status},
            )
        return _peer_info(peer)


def _peer_info(peer: Peer) -> PeerInfo:
    return PeerInfo(
        peer.code,
        peer.country,
        peer.url,
        peer.public_key,
        peer.status,
        peer.selectors_per_hour or 0,
        peer.added_at or utcnow(),
    )


def list_peers(store: Store, actor: Actor) -> list[PeerInfo]:
    store.require_initialised()
    with store.reading() as session:
        rows = session.scalars(
            select(Peer).where(Peer.agency_id == actor.agency_id).order_by(Peer.code)
        )
        return [_peer_info(peer) for peer in rows]


def active_peers(session: Session, actor: Actor) -> list[Peer]:
    return list(
        session.scalars(
            select(Peer)
            .where(Peer.agency_id == actor.agency_id, Peer.status == "active")
            .order_by(Peer.code)
        )
    )


def public_identity(store: Store, agency_code: str) -> dict[str, object]:
    """What any caller may read: the same as ``federation identity --json``."""
    with store.reading() as session:
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
        if agency is None:
            raise NotFound(f"no federated agency {agency_code!r} on this node")
        found = _identity(session, agency)
        return {
            "agency": found.agency,
            "country": found.country,
            "url": found.url,
            "public_key": found.public_key,
        }
