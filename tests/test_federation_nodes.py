"""Three agencies' nodes on loopback (real HTTP, one database each) working one operation:
deconfliction against truth.json, nothing raw crossing, refused requests, referrals through
the outbox and inbox, outcomes flowing back. ``docs/federation.md`` describes the protocol."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.cli_runner import run_cli
from tests.federation_support import Federation, running_federation
from tests.server_support import add_test_user
from vigil.errors import IntegrityViolation
from vigil.federation import evaluated_set
from vigil.federation.keys import load_signer
from vigil.federation.signing import RequestRefused, Signer
from vigil.federation.transport import HttpTransport, PeerResponse
from vigil.peer_api.app import create_peer_app
from vigil.peer_api.serving import NodeServer
from vigil.server import create_app
from vigil.server.settings import ServerSettings
from vigil.store.models import (
    AuditEntry,
    Case,
    DeconflictionHit,
    InboxReferral,
    OutboxMessage,
    PeerNonce,
)
from vigil.workflows.federation.deconflict import deconflict, list_hits
from vigil.workflows.federation.exchange import deliver_pending, send_referrals
from vigil.workflows.federation.inbox import accept, list_inbox, own_overlaps
from vigil.workflows.federation.node import add_peer, identity, list_peers
from vigil.workflows.federation.peering import PeerRefused, agency_path
from vigil.workflows.federation.story import CASE, Node
from vigil.workflows.operation.credentials import issue_token
from vigil.workflows.operation.jobs import enqueue
from vigil.workflows.operation.setup import find_actor, open_case
from vigil.workflows.referral.outcomes import record_outcome
from vigil.workflows.referral.refer import list_referrals, refer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("federation")]
PURPOSE = "test: who else works these identities"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with running_federation(tmp_path_factory.mktemp("federation")) as running:
        yield running


def _deconflict_all(fed: Federation) -> None:
    if "deconflicted" in fed.snapshots:
        return
    transport = HttpTransport()
    for node in fed.nodes.values():
        deconflict(node.store, node.actor, transport, case=CASE, purpose=PURPOSE)
    transport.close()
    # What each node holds right after deconfliction, before any referral (which carries
    # selectors on purpose) is sent.
    fed.snapshots["deconflicted"] = {
        country: {
            "received": list(node.received),
            "database": _database_bytes(node),
            "logs": "\n".join(fed.logs.lines),
        }
        for country, node in fed.nodes.items()
    }


def _database_bytes(node: Node) -> bytes:
    path = Path(node.store.engine.url.database or "")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def test_deconfliction_finds_exactly_the_selectors_truth_says_are_shared(
    federation: Federation,
) -> None:
    _deconflict_all(federation)
    pairs = [("CA", "GB"), ("CA", "US"), ("GB", "US")]
    for a, b in pairs:
        expected = federation.shared(a, b)
        assert expected, f"the split should make {a} and {b} share something"
        for querier, holder in ((a, b), (b, a)):
            found = federation.hit_values(querier, holder, "made")
            told = federation.hit_values(holder, querier, "received")
            true_positives = len(found & expected)
            precision = true_positives / len(found) if found else 0.0
            recall = true_positives / len(expected)
            assert (precision, recall) == (1.0, 1.0), (querier, holder, found ^ expected)
            assert told == expected  # the holder recorded the same hits


def test_hits_carry_contact_reference_and_subject(federation: Federation) -> None:
    _deconflict_all(federation)
    ca, gb = federation.nodes["CA"], federation.nodes["GB"]
    made = [h for h in list_hits(ca.store, ca.actor) if h.peer == gb.code and h.direction == "made"]
    received = {h.our_reference: h for h in list_hits(gb.store, gb.actor) if h.peer == ca.code}
    assert made and all(h.contact == "ceop-desk@nca.example" for h in made)
    assert all(h.case == CASE for h in made)
    assert any(h.subject_id is not None for h in made)
    for hit in made:  # each side holds the other's opaque reference for the same hit
        assert hit.their_reference in received
        assert received[hit.their_reference].their_reference == hit.our_reference
        assert received[hit.their_reference].contact == "ces@tps.example"
    result = run_cli("--db", ca.store.url, "deconfliction", "hits", "--json")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert list(listed[0])[:7] == [
        "peer",
        "kind",
        "subject_id",
        "case",
        "contact",
        "their_reference",
        "first_seen",
    ]


def test_nothing_raw_crosses(federation: Federation) -> None:
    _deconflict_all(federation)
    snapshot = federation.snapshots["deconflicted"]
    raw: dict[str, set[str]] = {}
    for country, node in federation.nodes.items():
        with node.store.reading() as session:
            from vigil.store.models import Selector, Sighting

            rows = session.execute(
                select(Selector.value, Selector.display).join(
                    Sighting, Sighting.selector_id == Selector.id
                )
            ).all()
        raw[country] = {v for row in rows for v in row if v and len(v) >= 6}
    checked = 0
    for country in federation.nodes:
        # Theirs: what the other nodes hold that appears nowhere in this agency's own evidence.
        folder = federation.operation / federation.truth["agencies"][country]["folder"]
        own = b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()).lower()
        mine = {v.casefold() for v in raw[country]}
        theirs = {
            value
            for value in set().union(*(raw[c] for c in federation.nodes if c != country))
            if value.casefold() not in mine and value.lower().encode() not in own
        }
        seen = snapshot[country]
        bodies = b"\n".join(seen["received"])
        assert len(seen["received"]) >= 6  # set, evaluate and confirm from two queriers
        for value in theirs:
            encoded = value.encode()
            assert encoded not in bodies, (country, value)
            assert encoded not in seen["database"], (country, value)
            assert value not in seen["logs"], (country, value)
            checked += 1
    assert checked > 300


def _counts(node: Node) -> tuple[int, ...]:
    with node.store.reading() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (PeerNonce, AuditEntry, DeconflictionHit, InboxReferral, Case)
        )


def _post(node: Node, endpoint: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        node.server.url + agency_path(node.code, endpoint),
        content=body,
        headers=headers,
        timeout=30,
    )


def test_refused_requests_say_why_and_write_nothing(federation: Federation) -> None:
    gb, ca = federation.nodes["GB"], federation.nodes["CA"]
    signer = load_signer(ca.keys_dir, ca.code)
    body = json.dumps({"case": CASE, "purpose": PURPOSE}).encode()
    path = agency_path(gb.code, "set")
    headers = signer.headers("POST", path, body)
    assert _post(gb, "set", body, headers).status_code == 200
    before = _counts(gb)
    replay = _post(gb, "set", body, headers)
    assert replay.status_code == 409 and "replayed request" in replay.json()["detail"]
    tampered = _post(gb, "set", body.replace(b"test", b"tost"), headers)
    assert tampered.status_code == 401 and "bad signature" in tampered.json()["detail"]
    stranger = Signer("XX-NOBODY", b"\x05" * 32)
    unknown = _post(gb, "set", body, stranger.headers("POST", path, body))
    assert unknown.status_code == 401 and "unknown peer" in unknown.json()["detail"]
    impostor = Signer(ca.code, b"\x06" * 32)
    forged = _post(gb, "set", body, impostor.headers("POST", path, body))
    assert forged.status_code == 401 and "bad signature" in forged.json()["detail"]
    unsigned = _post(gb, "set", body, {})
    assert unsigned.status_code == 401 and "unsigned request" in unsigned.json()["detail"]
    package = {
        "idempotency_key": "k",
        "referral_id": 1,
        "manifest_sha256": "0" * 64,
        "subjects": [],
        "files": {},
        "signature": "AAAA",
    }
    package_body = json.dumps(package).encode()
    bad_package = _post(
        gb,
        "referrals",
        package_body,
        signer.headers("POST", agency_path(gb.code, "referrals"), package_body),
    )
    assert bad_package.status_code == 401
    assert "package signature does not verify" in bad_package.json()["detail"]
    assert _counts(gb)[1:] == before[1:]  # no audit, hit, inbox row or case
    assert _counts(gb)[0] == before[0] + 1  # only the authenticated package request's nonce


def test_an_expired_set_is_refused_and_nothing_is_recorded(
    federation: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    us, gb = federation.nodes["US"], federation.nodes["GB"]
    monkeypatch.setattr(evaluated_set, "DEFAULT_LIFETIME", timedelta(seconds=-1))
    before = _counts(us)
    with pytest.raises(RequestRefused, match="expired"):
        deconflict(us.store, us.actor, HttpTransport(), purpose=PURPOSE, peers=[gb.code])
    assert _counts(us) == before


def test_rate_limit_refuses_a_peer_over_its_allowance(federation: Federation) -> None:
    us, gb = federation.nodes["US"], federation.nodes["GB"]
    found = identity(us.store, us.actor)
    add_peer(
        gb.store,
        gb.actor,
        us.code,
        found.url or "",
        found.public_key,
        country="US",
        selectors_per_hour=3,
    )
    try:
        before = _counts(us)[2]
        with pytest.raises(PeerRefused, match="rate limit"):
            deconflict(us.store, us.actor, HttpTransport(), purpose=PURPOSE, peers=[gb.code])
        assert _counts(us)[2] == before
    finally:
        add_peer(
            gb.store,
            gb.actor,
            us.code,
            found.url or "",
            found.public_key,
            country="US",
            selectors_per_hour=100_000,
        )


class _LosesAcknowledgements:
    """Delivers, then behaves as if the answer never came back."""

    def __init__(self) -> None:
        self.inner = HttpTransport()

    def send(self, url: str, method: str, path: str, body: bytes, headers: Any) -> PeerResponse:
        from vigil.federation.transport import PeerUnreachable

        self.inner.send(url, method, path, body, headers)
        raise PeerUnreachable("connection reset before the answer")


class _WritesWhileAsked:
    """Delivers; while the peer is being asked, another connection writes to the sender's
    store, waiting at most a moment for its lock, as a sign-in on the same server would."""

    def __init__(self, store_path: Path) -> None:
        self.inner = HttpTransport()
        self.store_path = store_path
        self.writes = 0

    def send(self, url: str, method: str, path: str, body: bytes, headers: Any) -> PeerResponse:
        with sqlite3.connect(self.store_path, timeout=0.2) as connection:
            connection.execute("UPDATE agency SET contact = contact")
        self.writes += 1
        return self.inner.send(url, method, path, body, headers)


def test_a_peer_down_gets_the_package_later_exactly_once(federation: Federation) -> None:
    ca, us = federation.nodes["CA"], federation.nodes["US"]
    later = NodeServer.reserve(create_peer_app(us.store))  # bound, not listening: down
    found = identity(us.store, us.actor)
    add_peer(ca.store, ca.actor, us.code, later.url, found.public_key, country="US")
    try:
        referrals = refer(ca.store, ca.actor, ca.keys_dir.parent / "referrals-us", country="US")
        down = send_referrals(ca.store, ca.actor, HttpTransport(), [r.id for r in referrals])
        assert (down.delivered, down.pending) == (0, 1)
        assert [r.status for r in list_referrals(ca.store) if r.id == referrals[0].id] == ["queued"]
        inbox_before = len(list_inbox(us.store, us.actor))
        later.start()
        lost = deliver_pending(ca.store, ca.actor, _LosesAcknowledgements())
        assert (lost.delivered, lost.pending) == (0, 1)
        # No transaction is open while the peer is asked: the store takes writes meanwhile.
        meanwhile = _WritesWhileAsked(Path(ca.store.engine.url.database or ""))
        again = deliver_pending(ca.store, ca.actor, meanwhile)
        assert (again.delivered, again.pending) == (1, 0) and meanwhile.writes == 1
        assert deliver_pending(ca.store, ca.actor, HttpTransport()).delivered == 0
        received = list_inbox(us.store, us.actor)
        assert len(received) == inbox_before + 1
        assert received[-1].reference == Path(referrals[0].package).name
        assert [r.status for r in list_referrals(ca.store) if r.id == referrals[0].id] == ["sent"]
    finally:
        later.stop()
        add_peer(ca.store, ca.actor, us.code, us.server.url, found.public_key, country="US")


def test_referral_accepted_at_gb_and_its_outcome_reaches_ca(federation: Federation) -> None:
    ca, gb = federation.nodes["CA"], federation.nodes["GB"]
    out = ca.keys_dir.parent / "referrals-gb"
    sent = run_cli(
        "--db", ca.store.url, "refer", "--country", "GB", "--send", "-o", str(out), "--json"
    )
    assert sent.exit_code == 0, sent.stderr
    assert "1 delivered, 0 waiting" in sent.stderr
    referrals = json.loads(sent.stdout)
    row = next(r for r in list_inbox(gb.store, gb.actor) if r.peer == ca.code)
    assert row.state == "received" and row.manifest_sha256 == referrals[0]["sha256"]
    again = run_cli(
        "--db", ca.store.url, "refer", "--country", "GB", "--send", "-o", str(out), "--json"
    )
    assert again.exit_code == 0 and "sent: nothing new" in again.stderr
    assert [r["id"] for r in json.loads(again.stdout)] == [r["id"] for r in referrals]
    # A package changed after receipt is refused at acceptance, and nothing is opened.
    with gb.store.transaction() as session:
        stored = session.get(InboxReferral, row.id)
        assert stored is not None
        original = stored.package
        package = json.loads(original)
        package["files"]["files.csv"] = "c2hhMjU2CmZvcmdlZAo="
        stored.package = json.dumps(package)
    before = _counts(gb)
    with pytest.raises(IntegrityViolation, match="does not match its SHA-256"):
        accept(gb.store, gb.actor, row.id, "OP-FROM-CA")
    assert _counts(gb) == before
    with gb.store.transaction() as session:
        stored = session.get(InboxReferral, row.id)
        assert stored is not None
        stored.package = original
    accepted = accept(gb.store, gb.actor, row.id, "OP-FROM-CA")
    assert (accepted.state, accepted.case) == ("accepted", "OP-FROM-CA")
    # GB's own record of a referred person is pointed out for review, never merged, and
    # every pairing is the same person by truth.
    person_of = {
        (a["platform"], a["username"]): p["id"]
        for p in federation.truth["persons"]
        for a in p["accounts"]
    }
    overlaps = own_overlaps(gb.store, gb.actor, row.id)
    assert overlaps
    for overlap in overlaps:
        referred, own = (_account(overlap.referred_label), _account(overlap.own_label))
        assert person_of[referred] == person_of[own], overlap.describe()
        assert overlap.referred_subject_id != overlap.own_subject_id and overlap.shared
    with gb.store.reading() as session:
        from vigil.store.models import InboxSubject, Source

        source = session.scalars(select(Source).where(Source.kind == "referral")).one()
        assert source.sha256 == referrals[0]["sha256"] and source.extra["sender"] == ca.code
        first = session.scalars(select(InboxSubject).order_by(InboxSubject.id)).first()
        assert first is not None
    record_outcome(gb.store, gb.actor, str(first.subject_id), "arrest", "2007-06-01")
    delivered = deliver_pending(gb.store, gb.actor, HttpTransport())
    assert delivered.delivered == 1
    result = run_cli("--db", ca.store.url, "referrals", "--json")
    assert result.exit_code == 0, result.stderr
    listed = {r["id"]: r for r in json.loads(result.stdout)}
    referral = listed[referrals[0]["id"]]
    assert referral["status"] == "actioned"
    assert {
        "subject_id": first.their_subject_id,
        "kind": "arrest",
        "date": "2007-06-01",
        "agency": gb.code,
    } in referral["outcomes"]
    # Delivered once: the outbox holds nothing more for CA.
    with gb.store.reading() as session:
        states = session.scalars(select(OutboxMessage.state)).all()
    assert set(states) == {"delivered"}


def _account(label: str) -> tuple[str, str]:
    """``("Lantern Board", "Owl86")`` from a subject label ``Owl86 (Lantern Board)``."""
    username, _, platform = label.rpartition(" (")
    return platform.rstrip(")"), username


def test_rotated_key_is_learned_through_the_old_one(federation: Federation) -> None:
    from vigil.workflows.federation.exchange import rotate_signing_key

    us, gb, ca = federation.nodes["US"], federation.nodes["GB"], federation.nodes["CA"]
    old = identity(us.store, us.actor).public_key
    new = rotate_signing_key(us.store, us.actor, HttpTransport())
    assert new != old
    for peer_node in (gb, ca):
        result = run_cli("--db", peer_node.store.url, "peer", "list", "--json")
        pinned = {p["code"]: p["public_key"] for p in json.loads(result.stdout)}
        assert pinned[us.code] == new
    hits = deconflict(us.store, us.actor, HttpTransport(), purpose=PURPOSE, peers=[gb.code])
    assert hits  # requests signed with the new key are accepted


def test_cli_identity_and_inbox_json(federation: Federation) -> None:
    gb = federation.nodes["GB"]
    result = run_cli("--db", gb.store.url, "federation", "identity", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert list(shown) == ["agency", "country", "url", "public_key"]
    assert shown["agency"] == gb.code and shown["public_key"].startswith("ed25519:")
    listed = run_cli("--db", gb.store.url, "inbox", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    missing = run_cli("--db", gb.store.url, "inbox", "accept", "9999", "--case", "X")
    assert missing.exit_code == 2 and "no referral 9999" in missing.stderr


def test_decline_keeps_the_package_listed_and_closes_it(federation: Federation) -> None:
    us, ca = federation.nodes["US"], federation.nodes["CA"]
    waiting = [r for r in list_inbox(us.store, us.actor) if r.state == "received"]
    if not waiting:  # this test alone: have CA send US one package first
        refer(ca.store, ca.actor, ca.keys_dir.parent / "referrals-us-2", country="US")
        deliver_pending(ca.store, ca.actor, HttpTransport())
        send_referrals(
            ca.store,
            ca.actor,
            HttpTransport(),
            [r.id for r in list_referrals(ca.store) if r.country == "US"],
        )
        waiting = [r for r in list_inbox(us.store, us.actor) if r.state == "received"]
    target = waiting[0]
    declined = run_cli(
        "--db", us.store.url, "inbox", "decline", str(target.id), "--reason", "not ours"
    )
    assert declined.exit_code == 0, declined.stderr
    listed = json.loads(run_cli("--db", us.store.url, "inbox", "--json").stdout)
    assert next(r for r in listed if r["id"] == target.id)["state"] == "declined"
    again = run_cli("--db", us.store.url, "inbox", "accept", str(target.id), "--case", "X")
    assert again.exit_code == 2 and "already declined" in again.stderr


def test_a_disabled_peer_is_refused_until_enabled_again(federation: Federation) -> None:
    """`vigil peer disable` (the admin page's Disable) stops the exchange at once;
    `enable` restores it; both are audited."""
    us, gb = federation.nodes["US"], federation.nodes["GB"]
    disabled = run_cli("--db", gb.store.url, "peer", "disable", us.code)
    assert disabled.exit_code == 0, disabled.stderr
    assert disabled.stdout.strip() == f"peer {us.code} is disabled"
    try:
        before = _counts(us)
        with pytest.raises(PeerRefused, match="unknown peer"):
            deconflict(us.store, us.actor, HttpTransport(), purpose=PURPOSE, peers=[gb.code])
        assert _counts(us) == before
    finally:
        enabled = run_cli("--db", gb.store.url, "peer", "enable", us.code)
    assert enabled.exit_code == 0, enabled.stderr
    deconflict(us.store, us.actor, HttpTransport(), purpose=PURPOSE, peers=[gb.code])
    with gb.store.reading() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("peer.%able"))
        ).all()
    assert actions == ["peer.disable", "peer.enable"]
    missing = run_cli("--db", gb.store.url, "peer", "disable", "NOBODY")
    assert missing.exit_code == 2 and "no peer 'NOBODY'" in missing.stderr


def _served(node: Node, folder: Path, user: str = "desk") -> tuple[TestClient, dict[str, str]]:
    """The node's own `vigil serve` app, with a new investigator's token (jobs drained by
    hand)."""
    add_test_user(node.store, node.code, user, "investigator")
    token = issue_token(node.store, find_actor(node.store, f"{node.code}/{user}"), "tests", 1).token
    settings = ServerSettings(referral_dir=folder / "referrals", upload_dir=folder / "uploads")
    return TestClient(create_app(node.store, settings)), {"Authorization": f"Bearer {token}"}


def _job_result(client: TestClient, job_id: int, auth: dict[str, str]) -> Any:
    client.app.state.job_runner.run_until_idle()  # type: ignore[attr-defined]
    job = client.get(f"/api/jobs/{job_id}", headers=auth).json()
    assert job["state"] == "done", job
    return job["result"]


def test_a_unit_on_the_server_alone_sends_referrals_and_outcomes_flow_back(
    federation: Federation, tmp_path: Path
) -> None:
    """Two units that work only through `vigil serve`, nobody running the CLI: CA's referral
    goes out from a job, waits in the outbox while US is down, goes when asked again, and the
    outcome US records through its own API reaches CA from US's outbox."""
    ca, us = federation.nodes["CA"], federation.nodes["US"]
    later = NodeServer.reserve(create_peer_app(us.store))  # bound, not listening: down
    found = identity(us.store, us.actor)
    add_peer(ca.store, ca.actor, us.code, later.url, found.public_key, country="US")
    ca_api, ca_auth = _served(ca, tmp_path / "ca")
    us_api, us_auth = _served(us, tmp_path / "us")
    # A package unlike those earlier tests sent US (it lists CA's cases, now one more):
    # one that says the same as a package already sent would be that referral again.
    open_case(ca.store, ca.actor, "OP-FED-SERVER")
    ask = {"country": "US", "send": True}
    try:
        queued = ca_api.post("/api/referrals", json=ask, headers=ca_auth)
        assert queued.status_code == 202, queued.text
        sent = _job_result(ca_api, queued.json()["id"], ca_auth)
        referral = sent["referrals"][0]
        assert (referral["country"], referral["status"]) == ("US", "queued")
        assert sent["delivery"]["delivered"] == 0 and sent["delivery"]["pending"] >= 1
        outbox = ca_api.get("/api/outbox", headers=ca_auth).json()
        waiting = [m for m in outbox if m["referral_id"] == referral["id"]]
        assert [(m["peer"], m["kind"], m["state"], m["attempts"]) for m in waiting] == [
            (us.code, "referral", "pending", 1)
        ]
        assert waiting[0]["last_error"] and waiting[0]["delivered_at"] is None
        assert "payload" not in waiting[0]  # the selectors it carries are not listed

        later.start()
        retried = ca_api.post("/api/outbox/deliver", headers=ca_auth)
        assert retried.status_code == 202, retried.text
        delivery = _job_result(ca_api, retried.json()["id"], ca_auth)
        assert delivery["delivered"] >= 1 and delivery["pending"] == 0 and delivery["refused"] == 0
        [message] = [
            m
            for m in ca_api.get("/api/outbox", headers=ca_auth).json()
            if m["referral_id"] == referral["id"]
        ]
        assert (message["state"], message["attempts"]) == ("delivered", 2)
        statuses = {
            r["id"]: r["status"] for r in ca_api.get("/api/referrals", headers=ca_auth).json()
        }
        assert statuses[referral["id"]] == "sent"
        inbox = list_inbox(us.store, us.actor)
        row = next(r for r in inbox if r.manifest_sha256 == referral["sha256"])
        # Sent again with nothing new: the same referral, and US receives nothing more.
        again = ca_api.post("/api/referrals", json=ask, headers=ca_auth)
        resent = _job_result(ca_api, again.json()["id"], ca_auth)
        assert [(r["id"], r["status"]) for r in resent["referrals"]] == [(referral["id"], "sent")]
        assert resent["delivery"]["delivered"] == 0
        assert len(list_inbox(us.store, us.actor)) == len(inbox)
    finally:
        later.stop()
        add_peer(ca.store, ca.actor, us.code, us.server.url, found.public_key, country="US")

    accept(us.store, us.actor, row.id, "OP-FROM-CA-BY-SERVER")
    with us.store.reading() as session:
        from vigil.store.models import InboxSubject

        referred = session.scalars(
            select(InboxSubject).where(InboxSubject.inbox_id == row.id).order_by(InboxSubject.id)
        ).first()
    assert referred is not None
    body = {"subject": referred.subject_id, "kind": "charge", "date": "2007-07-02"}
    recorded = us_api.post("/api/outcomes", json=body, headers=us_auth)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["created"] is True and recorded.json()["delivery_job"] is not None
    back = _job_result(us_api, recorded.json()["delivery_job"], us_auth)
    assert back["delivered"] >= 1 and back["pending"] == 0
    outcomes = next(r for r in list_referrals(ca.store) if r.id == referral["id"]).outcomes
    assert {
        "subject_id": referred.their_subject_id,
        "kind": "charge",
        "date": "2007-07-02",
        "agency": us.code,
    } in outcomes
    # The same outcome again queues nothing, and nothing else waits: no delivery is started.
    again = us_api.post("/api/outcomes", json=body, headers=us_auth).json()
    assert again["created"] is False and again["delivery_job"] is None
    # Sending is the refer permission's: an analyst may read the outbox but not deliver.
    add_test_user(ca.store, ca.code, "reader", "analyst")
    analyst = find_actor(ca.store, f"{ca.code}/reader")
    reader = {"Authorization": f"Bearer {issue_token(ca.store, analyst, 'tests', 1).token}"}
    assert ca_api.get("/api/outbox", headers=reader).status_code == 200
    assert ca_api.post("/api/outbox/deliver", headers=reader).status_code == 403


def test_a_send_no_peer_can_take_is_refused_before_any_package_is_written(
    federation: Federation, tmp_path: Path
) -> None:
    """No peer serves FR: `refer --send` (and the API's send) stop with one line before a
    package or referral exists, where a referral written first would be left unsendable."""
    ca = federation.nodes["CA"]
    before = [r.id for r in list_referrals(ca.store)]
    out = tmp_path / "to-fr"
    refused = run_cli("--db", ca.store.url, "refer", "--country", "fr", "--send", "-o", str(out))
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        "vigil: error: no peer serves FR; add one with "
        "`vigil peer add CODE URL --public-key KEY --country FR`"
    ]
    assert not out.exists()
    api, auth = _served(ca, tmp_path / "server", user="fr-desk")
    refused = api.post("/api/referrals", json={"country": "FR", "send": True}, headers=auth)
    assert refused.status_code == 400 and "no peer serves FR" in refused.json()["detail"]
    # Every country's packages hold some no peer serves (CA's own): a send names one.
    every = api.post("/api/referrals", json={"all": True, "send": True}, headers=auth)
    assert every.status_code == 400 and "a send names one country" in every.json()["detail"]
    # Checked again when the job runs (a peer disabled meanwhile): the job fails, unwritten.
    job_id = enqueue(
        ca.store,
        find_actor(ca.store, f"{ca.code}/fr-desk"),
        "refer",
        {"country": "FR", "out_dir": str(tmp_path / "server" / "referrals"), "send": True},
    ).id
    api.app.state.job_runner.run_until_idle()  # type: ignore[attr-defined]
    job = api.get(f"/api/jobs/{job_id}", headers=auth).json()
    assert job["state"] == "failed" and "no peer serves FR" in job["error"]
    assert not (tmp_path / "server" / "referrals").exists()
    assert [r.id for r in list_referrals(ca.store)] == before


def test_a_package_a_peer_refused_is_sent_anew(federation: Federation, tmp_path: Path) -> None:
    """US refuses CA while CA is disabled there: the message is refused, and sending the same
    package again once US takes CA writes a new referral that goes, where reusing the refused
    one would leave it refused for ever."""
    ca, us = federation.nodes["CA"], federation.nodes["US"]
    open_case(ca.store, ca.actor, "OP-FED-REFUSED")  # a package unlike any sent before
    assert run_cli("--db", us.store.url, "peer", "disable", ca.code).exit_code == 0
    try:
        [first] = refer(ca.store, ca.actor, tmp_path / "first", country="US", sending=True)
        refused = send_referrals(ca.store, ca.actor, HttpTransport(), [first.id])
        assert (refused.delivered, refused.refused) == (0, 1)
    finally:
        assert run_cli("--db", us.store.url, "peer", "enable", ca.code).exit_code == 0
    [second] = refer(ca.store, ca.actor, tmp_path / "second", country="US", sending=True)
    assert second.id != first.id and second.sha256 != first.sha256
    sent = send_referrals(ca.store, ca.actor, HttpTransport(), [second.id])
    assert (sent.delivered, sent.refused) == (1, 0)
    [again] = refer(ca.store, ca.actor, tmp_path / "third", country="US", sending=True)
    assert again.id == second.id  # delivered: that one, not a third


def test_refer_all_send_sends_what_a_peer_serves_and_keeps_the_rest_prepared(
    federation: Federation, tmp_path: Path
) -> None:
    """`refer --all --send`: every country's package is written; those of the countries a
    peer serves go (or are already on their way), the rest (CA's own, always) stay
    prepared and are named, where one unserved country used to stop the whole send."""
    ca = federation.nodes["CA"]
    open_case(ca.store, ca.actor, "OP-FED-ALL")  # packages unlike any sent before
    done = run_cli("--db", ca.store.url, "refer", "--all", "--send", "-o", str(tmp_path), "--json")
    assert done.exit_code == 0, done.stderr
    served = {peer.country for peer in list_peers(ca.store, ca.actor) if peer.status == "active"}
    written = {r["country"]: r["id"] for r in json.loads(done.stdout)}
    unserved = sorted(set(written) - served)
    assert "CA" in unserved and set(written) & served
    assert f"not sent, no peer serves {', '.join(unserved)}:" in done.stderr
    status = {r.id: r.status for r in list_referrals(ca.store)}
    assert all(status[written[cc]] == "prepared" for cc in unserved)
    assert all(status[written[cc]] == "sent" for cc in set(written) & served)
