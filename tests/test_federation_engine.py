"""The federation engine alone: RFC 9497 vectors, request signatures, the evaluated set,
selector tokens and the node's key files."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.errors import IntegrityViolation
from vigil.federation import evaluated_set, keys, oprf, signing
from vigil.federation.tokens import token

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "rfc9497" / "ristretto255-sha512-voprf.json").read_text()
)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _vector_key() -> oprf.OprfKey:
    return oprf.OprfKey(bytes.fromhex(VECTORS["Seed"]), bytes.fromhex(VECTORS["KeyInfo"]))


def test_vectors_derive_the_published_key_pair() -> None:
    assert _vector_key().public_key.hex() == VECTORS["pkSm"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"batch{len(v['Input'])}")
def test_vectors_evaluate_blind_evaluate_and_finalize(vector: dict[str, list[str]]) -> None:
    key = _vector_key()
    inputs = [bytes.fromhex(i) for i in vector["Input"]]
    # Evaluate: the holder's own PRF output for an input it knows.
    assert [o.hex() for o in key.evaluate_known(inputs)] == vector["Output"]
    # BlindEvaluate on the vector's blinded elements gives the vector's evaluated elements;
    # the batch is the 64-byte DLEQ proof followed by the elements.
    batch = key.evaluate_blinded([bytes.fromhex(b) for b in vector["BlindedElement"]])
    elements = batch[64:]
    assert [elements[i : i + 32].hex() for i in range(0, len(elements), 32)] == vector[
        "EvaluationElement"
    ]
    # The whole online protocol with fresh blinds ends at the vector's outputs, and the
    # holder's proof verifies against pkSm. (The bindings draw the blind and the proof's
    # random scalar themselves, so those two values cannot be replayed byte for byte.)
    blinded = oprf.blind(inputs)
    evaluated = key.evaluate_blinded(blinded.blinded)
    finals = blinded.finalize(evaluated, bytes.fromhex(VECTORS["pkSm"]))
    assert [o.hex() for o in finals] == vector["Output"]


def test_an_evaluation_under_another_key_is_refused() -> None:
    honest = _vector_key()
    tracker = oprf.OprfKey(b"\x01" * 32)
    blinded = oprf.blind([b"email:someone@example.org"])
    with pytest.raises(IntegrityViolation, match="does not verify"):
        blinded.finalize(tracker.evaluate_blinded(blinded.blinded), honest.public_key)
    tampered = bytearray(honest.evaluate_blinded(blinded.blinded))
    tampered[5] ^= 1
    with pytest.raises(IntegrityViolation):
        blinded.finalize(bytes(tampered), honest.public_key)


def test_garbage_is_not_a_blinded_element() -> None:
    with pytest.raises(IntegrityViolation, match="not a blinded"):
        _vector_key().evaluate_blinded([b"\xff" * 32])


def _signer(agency: str = "GB-NCA", seed: bytes = b"\x07" * 32) -> signing.Signer:
    return signing.Signer(agency, seed)


def test_signed_request_verifies_and_any_change_breaks_it() -> None:
    signer = _signer()
    headers = signer.headers("POST", "/federation/v1/evaluate", b'{"a":1}', now=NOW)
    request = signing.read_headers(headers)
    key = signer.public_key
    assert (
        signing.check_request(
            request, [key], "POST", "/federation/v1/evaluate", b'{"a":1}', now=NOW
        )
        == key
    )
    for method, path, body in [
        ("POST", "/federation/v1/evaluate", b'{"a":2}'),
        ("POST", "/federation/v1/confirm", b'{"a":1}'),
        ("GET", "/federation/v1/evaluate", b'{"a":1}'),
    ]:
        with pytest.raises(signing.RequestRefused, match="bad signature"):
            signing.check_request(request, [key], method, path, body, now=NOW)
    with pytest.raises(signing.RequestRefused, match="bad signature"):
        signing.check_request(
            request,
            [_signer(seed=b"\x08" * 32).public_key],
            "POST",
            "/federation/v1/evaluate",
            b'{"a":1}',
            now=NOW,
        )


def test_stale_and_unsigned_requests_are_refused() -> None:
    signer = _signer()
    headers = signer.headers("POST", "/p", b"", now=NOW - timedelta(minutes=10))
    with pytest.raises(signing.RequestRefused, match="away from this node's clock"):
        signing.check_request(
            signing.read_headers(headers), [signer.public_key], "POST", "/p", b"", now=NOW
        )
    with pytest.raises(signing.RequestRefused, match="unsigned request"):
        signing.read_headers({"x-vigil-agency": "GB-NCA"})


def test_public_key_text_round_trips_and_rejects_junk() -> None:
    key = _signer().public_key
    assert signing.parse_public_key(signing.public_key_text(key)) == key
    with pytest.raises(signing.RequestRefused, match="not an Ed25519 public key"):
        signing.parse_public_key("ed25519:abc")


def test_evaluated_set_verifies_expires_and_detects_tampering() -> None:
    signer = _signer()
    key = oprf.OprfKey(b"\x03" * 32)
    outputs = key.evaluate_known([b"email:a@example.org", b"phone:+447400211518"])
    document = evaluated_set.publish(signer, key.public_key, outputs, now=NOW)
    parsed = evaluated_set.verify(document, "GB-NCA", [signer.public_key], now=NOW)
    assert parsed.tags == {evaluated_set.tag_of(o) for o in outputs}
    assert parsed.oprf_public_key == key.public_key
    with pytest.raises(signing.RequestRefused, match="expired"):
        evaluated_set.verify(document, "GB-NCA", [signer.public_key], now=NOW + timedelta(days=2))
    forged = {**document, "tags": [*document["tags"], "00" * 16]}
    with pytest.raises(signing.RequestRefused, match="does not verify"):
        evaluated_set.verify(forged, "GB-NCA", [signer.public_key], now=NOW)
    with pytest.raises(signing.RequestRefused, match="not US-FBI's"):
        evaluated_set.verify(document, "US-FBI", [signer.public_key], now=NOW)


def test_tokens_follow_the_normalisers() -> None:
    seen = datetime(2006, 3, 1, tzinfo=UTC)
    assert token("email", " Owl944@FreePost.example ").input == b"email:owl944@freepost.example"
    assert token("phone", "+44 7400 211518").input == b"phone:+447400211518"
    assert token("phone", "call me maybe") is None
    assert token("username", "Son_of_God", "Lantern Board").input == (
        b"username:lantern board:son_of_god"
    )
    assert token("account", "371062016", "Parley").input == b"account:parley:371062016"
    assert token("ip", "051.1.1.1", seen_at=seen) is None
    assert token("ip", "2001:DB8::1", seen_at=seen).input == b"ip:2006:2001:db8::1"
    assert token("ip", "81.2.69.160") is None
    assert token("url", "http://example.org") is None


def test_key_files_are_private_and_rotation_keeps_the_previous_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    assert keys.create_keys(directory) is True
    assert keys.create_keys(directory) is False
    for name in (keys.SIGNING_FILE, keys.OPRF_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    before = keys.load_keys(directory, "CA-TPS")
    keys.rotate_signing_key(directory)
    after = keys.load_keys(directory, "CA-TPS")
    assert after.signer.public_key != before.signer.public_key
    assert keys.load_signer(directory, "CA-TPS", previous=True).public_key == (
        before.signer.public_key
    )
    assert after.oprf.public_key == before.oprf.public_key


def test_in_process_transport_answers_like_a_peer_or_like_one_that_is_down() -> None:
    from vigil.federation.transport import InProcessTransport, PeerResponse, PeerUnreachable

    seen: list[tuple[str, bytes]] = []

    def peer(method: str, path: str, body: bytes, headers: object) -> PeerResponse:
        seen.append((path, body))
        return PeerResponse(200, b"{}")

    transport = InProcessTransport({"http://gb.test": peer})
    assert transport.send("http://gb.test/", "POST", "/p", b"x", {}).status == 200
    assert seen == [("/p", b"x")]
    transport.down.add("http://gb.test")
    with pytest.raises(PeerUnreachable):
        transport.send("http://gb.test", "POST", "/p", b"x", {})
    with pytest.raises(PeerUnreachable):
        transport.send("http://us.test", "POST", "/p", b"x", {})
