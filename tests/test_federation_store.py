"""Federation on both databases: identity, peers, and a deconfliction whose holder runs on
the test's store (SQLite and PostgreSQL), served on loopback by the peer app."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from vigil.federation import keys
from vigil.federation.transport import HttpTransport
from vigil.peer_api.app import create_peer_app
from vigil.peer_api.serving import NodeServer
from vigil.store.db import Actor, Store
from vigil.store.models import (
    AuditEntry,
    FederationNode,
    OutboxMessage,
    Peer,
    PeerNonce,
    Selector,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
)
from vigil.workflows.federation.deconflict import deconflict, list_hits
from vigil.workflows.federation.exchange import deliver_pending, send_referrals
from vigil.workflows.federation.node import (
    add_peer,
    identity,
    init_node,
    list_peers,
    set_peer_status,
)
from vigil.workflows.federation.peering import PeerRefused
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.referral.refer import refer

SEEN = datetime(2006, 3, 1, tzinfo=UTC)


def _hold(store: Store, actor: Actor, selectors: list[tuple[str, str, str]]) -> None:
    with store.transaction() as session:
        source = Source(
            kind="test",
            original_name="t",
            sha256="1" * 64,
            size_bytes=0,
            agency_id=actor.agency_id,
            user_id=actor.user_id,
        )
        session.add(source)
        session.flush()
        for kind, platform, value in selectors:
            selector = Selector(kind=kind, platform=platform, value=value, display=value)
            session.add(selector)
            session.flush()
            session.add(
                Sighting(
                    selector_id=selector.id,
                    source_id=source.id,
                    agency_id=actor.agency_id,
                    seen_at=SEEN,
                )
            )


def test_deconfliction_against_a_holder_on_each_database(store: Store, tmp_path: Path) -> None:
    holder = admin_actor(store)
    server = NodeServer(create_peer_app(store)).start()
    init_node(
        store, holder, tmp_path / "holder-keys", url=server.url, contact="desk@holder.example"
    )
    querier_store = Store(f"sqlite:///{tmp_path / 'querier.db'}")
    init_store(querier_store, "QUERIER", "Querier", "GB", "pw")
    querier = admin_actor(querier_store)
    open_case(querier_store, querier, "Q-1")
    init_node(
        querier_store,
        querier,
        tmp_path / "querier-keys",
        url="http://querier.test",
        contact="desk@querier.example",
    )
    shared = [
        ("email", "", "owl944@freepost.example"),
        ("ip", "", "81.2.69.160"),
        ("account", "Parley", "371062016"),
    ]
    _hold(store, holder, [*shared, ("phone", "", "+447400211518")])
    _hold(
        querier_store,
        querier,
        [*shared, ("email", "", "someone.else@example.org"), ("account", "PicNook", "371062016")],
    )
    theirs, ours = identity(store, holder), identity(querier_store, querier)
    add_peer(querier_store, querier, "TEST", server.url, theirs.public_key)
    add_peer(store, holder, "QUERIER", "http://querier.test", ours.public_key, country="GB")
    assert [p.code for p in list_peers(store, holder)] == ["QUERIER"]
    transport = HttpTransport()

    hits = deconflict(querier_store, querier, transport, purpose="test")
    assert sorted(h.kind for h in hits) == ["account", "email", "ip"]
    assert {h.contact for h in hits} == {"desk@holder.example"}
    received = list_hits(store, holder)
    assert sorted(h.kind for h in received) == ["account", "email", "ip"]
    assert {h.their_reference for h in received} == {h.our_reference for h in hits}

    # Over its allowance, a peer is refused and the holder writes nothing.
    add_peer(
        store,
        holder,
        "QUERIER",
        "http://querier.test",
        ours.public_key,
        country="GB",
        selectors_per_hour=6,
    )
    with store.reading() as session:
        before = [
            session.scalar(select(func.count()).select_from(m)) for m in (PeerNonce, AuditEntry)
        ]
    with pytest.raises(PeerRefused, match="rate limit"):
        deconflict(querier_store, querier, transport, purpose="test")
    with store.reading() as session:
        after = [
            session.scalar(select(func.count()).select_from(m)) for m in (PeerNonce, AuditEntry)
        ]
    assert after[1] == before[1] + 1  # only the set it served before the refusal is audited
    querier_store.dispose()
    server.stop()


def test_cli_says_what_is_missing(store: Store, tmp_path: Path) -> None:
    url = store.url
    before = run_cli("--db", url, "federation", "identity", "--json")
    assert before.exit_code == 2 and "run `vigil federation init`" in before.stderr
    made = run_cli(
        "--db",
        url,
        "federation",
        "init",
        "--keys",
        str(tmp_path / "k"),
        "--url",
        "http://127.0.0.1:9",
        "--contact",
        "desk@test.example",
    )
    assert made.exit_code == 0, made.stderr
    bad_key = run_cli(
        "--db", url, "peer", "add", "GB-X", "http://127.0.0.1:9", "--public-key", "nonsense"
    )
    assert bad_key.exit_code == 2 and "not an Ed25519 public key" in bad_key.stderr
    lonely = run_cli("--db", url, "deconflict", "--purpose", "p", "--json")
    assert lonely.exit_code == 2 and "no peers to ask" in lonely.stderr
    unknown_case = run_cli("--db", url, "deconflict", "--purpose", "p", "--case", "NOPE")
    assert unknown_case.exit_code == 2 and "no case 'NOPE'" in unknown_case.stderr
    no_peer_for_country = run_cli("--db", url, "refer", "--country", "GB", "--send")
    assert no_peer_for_country.exit_code == 2


def test_init_again_changes_the_url_and_never_the_keys(store: Store, tmp_path: Path) -> None:
    """Run again (a new URL after a move), `federation init` keeps the node's keys, wherever
    the default folder would be: a new key would make every peer refuse this node."""
    url = store.url
    first = run_cli("--db", url, "federation", "init", "--keys", str(tmp_path / "k"))
    assert first.exit_code == 0, first.stderr
    key = run_cli("--db", url, "federation", "identity", "--json")
    again = run_cli("--db", url, "federation", "init", "--url", "http://127.0.0.1:7")
    assert again.exit_code == 0, again.stderr
    now = run_cli("--db", url, "federation", "identity", "--json")
    assert json.loads(now.stdout)["public_key"] == json.loads(key.stdout)["public_key"]
    assert json.loads(now.stdout)["url"] == "http://127.0.0.1:7"
    elsewhere = run_cli("--db", url, "federation", "init", "--keys", str(tmp_path / "other"))
    assert elsewhere.exit_code == 2
    assert "this node's keys are not in" in elsewhere.stderr
    assert not (tmp_path / "other").exists()
    # The node's signing key beside another OPRF key: refused, the node's tokens unchanged.
    mixed = tmp_path / "mixed"
    shutil.copytree(tmp_path / "k", mixed)
    (mixed / "oprf.key").unlink()
    with store.reading() as session:
        oprf_before = session.scalars(select(FederationNode.oprf_public_key)).one()
    keys.create_keys(mixed)  # a new OPRF key next to the node's signing key
    mismatched = run_cli("--db", url, "federation", "init", "--keys", str(mixed))
    assert mismatched.exit_code == 2 and "holds other keys than this node's" in mismatched.stderr
    with store.reading() as session:
        assert session.scalars(select(FederationNode.oprf_public_key)).one() == oprf_before
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "k", moved)
    taken = run_cli("--db", url, "federation", "init", "--keys", str(moved))
    assert taken.exit_code == 0, taken.stderr
    with store.reading() as session:
        assert session.scalars(select(FederationNode.keys_dir)).one() == str(moved.resolve())
    assert (
        json.loads(run_cli("--db", url, "federation", "identity", "--json").stdout)["public_key"]
        == json.loads(key.stdout)["public_key"]
    )


def test_deliveries_are_recorded_on_each_database(store: Store, tmp_path: Path) -> None:
    """The outbox on either store: a peer that does not know the sender refuses its message
    (recorded once, with the peer's reason), one that is down leaves it pending, and a
    delivery run again asks nobody about a refused message."""
    sender = admin_actor(store)
    init_node(store, sender, tmp_path / "keys", url="http://127.0.0.1:9", contact="desk")
    stranger = Store(f"sqlite:///{tmp_path / 'stranger.db'}")
    init_store(stranger, "STRANGER", "Stranger", "GB", "pw")
    server = NodeServer(create_peer_app(stranger)).start()  # it has not pinned TEST
    down = NodeServer.reserve(None)  # bound, never listening
    try:
        init_node(stranger, admin_actor(stranger), tmp_path / "stranger-keys", url=server.url)
        key = identity(stranger, admin_actor(stranger)).public_key
        add_peer(store, sender, "STRANGER", server.url, key, country="GB")
        add_peer(store, sender, "GB-DOWN", down.url, key, country="IE")
        with store.transaction() as session:
            peers = {p.code: p.id for p in session.scalars(select(Peer))}
            for code in ("STRANGER", "GB-DOWN"):
                session.add(
                    OutboxMessage(
                        agency_id=sender.agency_id,
                        peer_id=peers[code],
                        kind="outcome",
                        idempotency_key=f"TEST:outcome:{code}",
                        payload="{}",
                    )
                )
        first = deliver_pending(store, sender, HttpTransport())
        assert (first.delivered, first.refused, first.pending) == (0, 1, 1)
        again = deliver_pending(store, sender, HttpTransport())
        assert (again.delivered, again.refused, again.pending) == (0, 0, 1)
        with store.reading() as session:
            rows = {
                m.idempotency_key: (m.state, m.attempts, m.last_error or "")
                for m in session.scalars(select(OutboxMessage))
            }
        state, attempts, error = rows["TEST:outcome:STRANGER"]
        assert (state, attempts) == ("refused", 1) and "STRANGER refused outcomes" in error
        state, attempts, error = rows["TEST:outcome:GB-DOWN"]
        assert (state, attempts) == ("pending", 2) and "cannot be reached" in error
    finally:
        server.stop()
        down.stop()
        stranger.dispose()


def test_a_package_on_its_way_to_a_replaced_peer_is_written_anew_for_the_new_one(
    store: Store, tmp_path: Path
) -> None:
    """A package queued for GB-OLD is that referral while GB-OLD serves GB; once GB-NEW
    serves GB instead, GB-NEW has not had it, so sending writes one for GB-NEW."""
    sender = admin_actor(store)
    init_node(store, sender, tmp_path / "keys", url="http://127.0.0.1:9", contact="desk")
    _hold(store, sender, [("username", "chat", "suspect")])
    with store.transaction() as session:
        subject = Subject(label="suspect", role="suspect", country="GB")
        session.add(subject)
        session.flush()
        account = session.scalars(select(Selector).where(Selector.value == "suspect")).one()
        session.add(SubjectSelector(subject_id=subject.id, selector_id=account.id))
    down = NodeServer.reserve(None)  # bound, never listening: each message stays pending
    key = identity(store, sender).public_key  # any well-formed key: nobody answers
    try:
        add_peer(store, sender, "GB-OLD", down.url, key, country="GB")

        def send() -> int:
            [referral] = refer(store, sender, tmp_path / "out", country="GB", sending=True)
            send_referrals(store, sender, HttpTransport(), [referral.id])
            return referral.id

        first = send()
        assert send() == first  # on its way to the peer serving GB: that one
        set_peer_status(store, sender, "GB-OLD", "disabled")
        add_peer(store, sender, "GB-NEW", down.url, key, country="GB")
        tried_old = _attempts(store, first)
        second = send()
        assert second != first
        assert send() == second
        assert _attempts(store, second) == 2
        assert _attempts(store, first) == tried_old  # disabled: sent nothing more
        with store.reading() as session:
            queued = {
                m.referral_id: m.peer_id
                for m in session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "referral")
                )
            }
            peers = {p.id: p.code for p in session.scalars(select(Peer))}
        assert {peers[queued[first]], peers[queued[second]]} == {"GB-OLD", "GB-NEW"}
        assert len(queued) == 2  # each referral queued once, for its own peer
    finally:
        down.stop()


def _attempts(store: Store, referral_id: int) -> int:
    with store.reading() as session:
        return session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.referral_id == referral_id)
        ).one()
