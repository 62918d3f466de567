"""Ed25519 signatures over requests between nodes, with a timestamp and a nonce.

What is signed is one canonical string: method, path, the sender's agency code, the
timestamp, the nonce and the SHA-256 of the body. A receiver that has pinned the sender's
public key checks the signature, refuses a timestamp outside ``MAX_SKEW_SECONDS`` and refuses a
nonce it has already seen (it keeps nonces at least that long), so a captured request cannot
be replayed and a changed byte anywhere breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from vigil.errors import VigilError

MAX_SKEW_SECONDS = 300
AGENCY_HEADER = "x-vigil-agency"
TIMESTAMP_HEADER = "x-vigil-timestamp"
NONCE_HEADER = "x-vigil-nonce"
SIGNATURE_HEADER = "x-vigil-signature"


class RequestRefused(VigilError):
    """A peer request that fails authentication; ``http_status`` says how it is answered."""

    http_status = 401


class ReplayRefused(RequestRefused):
    http_status = 409


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise RequestRefused(f"{what} is not base64") from exc


def public_key_text(key: bytes) -> str:
    """How a public key is written for people and peers: ``ed25519:`` then base64."""
    return "ed25519:" + b64(key)


def parse_public_key(text: str) -> bytes:
    body = text.strip()
    if body.startswith("ed25519:"):
        body = body[len("ed25519:") :]
    try:
        raw = base64.b64decode(body.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise RequestRefused(f"not an Ed25519 public key: {text!r}")
    return raw


def canonical(
    method: str, path: str, agency: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        ["vigil-peer-v1", method.upper(), path, agency, timestamp, nonce, digest]
    ).encode()


@dataclass(frozen=True)
class Signer:
    """This node's signing key and the agency code it signs as."""

    agency: str
    seed: bytes

    @property
    def public_key(self) -> bytes:
        return bytes(SigningKey(self.seed).verify_key)

    def sign(self, message: bytes) -> bytes:
        return SigningKey(self.seed).sign(message).signature

    def headers(
        self, method: str, path: str, body: bytes, now: datetime | None = None
    ) -> dict[str, str]:
        timestamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        nonce = secrets.token_hex(16)
        signature = self.sign(canonical(method, path, self.agency, timestamp, nonce, body))
        return {
            AGENCY_HEADER: self.agency,
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: b64(signature),
        }


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SignedRequest:
    """What a receiver reads from the headers before it knows who is asking."""

    agency: str
    timestamp: datetime
    nonce: str
    signature: bytes


def read_headers(headers: Mapping[str, str]) -> SignedRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [
        h
        for h in (AGENCY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
        if not lowered.get(h)
    ]
    if missing:
        raise RequestRefused(f"unsigned request: missing {', '.join(missing)}")
    try:
        timestamp = datetime.strptime(lowered[TIMESTAMP_HEADER], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise RequestRefused("the request timestamp is not YYYY-MM-DDTHH:MM:SSZ") from exc
    nonce = lowered[NONCE_HEADER]
    if not 16 <= len(nonce) <= 64 or not nonce.isalnum():
        raise RequestRefused("the request nonce must be 16-64 letters or digits")
    return SignedRequest(
        agency=lowered[AGENCY_HEADER],
        timestamp=timestamp.replace(tzinfo=UTC),
        nonce=nonce,
        signature=unb64(lowered[SIGNATURE_HEADER], "the signature"),
    )


def check_request(
    request: SignedRequest,
    public_keys: list[bytes],
    method: str,
    path: str,
    body: bytes,
    now: datetime | None = None,
) -> bytes:
    """Verify against any of the peer's pinned keys; returns the key that verified."""
    skew = abs(((now or datetime.now(UTC)) - request.timestamp).total_seconds())
    if skew > MAX_SKEW_SECONDS:
        raise RequestRefused(
            f"request timestamp is {skew:.0f} s away from this node's clock "
            f"(at most {MAX_SKEW_SECONDS} s)"
        )
    message = canonical(
        method,
        path,
        request.agency,
        request.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        request.nonce,
        body,
    )
    for key in public_keys:
        if verify_signature(key, message, request.signature):
            return key
    raise RequestRefused(f"bad signature: the request does not verify with {request.agency}'s key")
