"""The holder's signed, expiring set of its own evaluated selectors.

Each entry is a tag: the first ``TAG_BYTES`` of the RFC 9497 output for one of the holder's
selector tokens, under the holder's OPRF key. Without that key nobody can compute a tag, so
the set cannot be probed offline; a querier learns whether its own selector is in it only by
having the holder evaluate it online (rate-limited, audited) and comparing. The set carries
the OPRF public key it was made with, so a querier can insist that evaluations are proven
against that same key, and it expires, so a stale picture of the holder is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.federation.signing import RequestRefused, Signer, b64, unb64, verify_signature

TAG_BYTES = 16
DEFAULT_LIFETIME = timedelta(hours=24)


def tag_of(output: bytes) -> str:
    return output[:TAG_BYTES].hex()


@dataclass(frozen=True)
class EvaluatedSet:
    agency: str
    oprf_public_key: bytes
    issued_at: datetime
    expires_at: datetime
    tags: frozenset[str]

    def body(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "oprf_public_key": b64(self.oprf_public_key),
            "issued_at": self.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_at": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tags": sorted(self.tags),
        }


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def publish(
    signer: Signer,
    oprf_public_key: bytes,
    outputs: Iterable[bytes],
    now: datetime | None = None,
    lifetime: timedelta | None = None,
) -> dict[str, Any]:
    """The set as it travels: its body plus the holder's Ed25519 signature over it."""
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    lifetime = DEFAULT_LIFETIME if lifetime is None else lifetime
    evaluated = EvaluatedSet(
        signer.agency,
        oprf_public_key,
        issued,
        issued + lifetime,
        frozenset(tag_of(o) for o in outputs),
    )
    body = evaluated.body()
    return {**body, "signature": b64(signer.sign(_signed_bytes(body)))}


def _time(text: object, what: str) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise RequestRefused(f"the evaluated set's {what} is not a UTC time") from exc


def verify(
    document: dict[str, Any], agency: str, public_keys: list[bytes], now: datetime | None = None
) -> EvaluatedSet:
    """Check signature, sender and expiry; returns the set or raises ``RequestRefused``."""
    try:
        body = {
            k: document[k] for k in ("agency", "oprf_public_key", "issued_at", "expires_at", "tags")
        }
        signature = unb64(str(document["signature"]), "the set signature")
    except (KeyError, TypeError) as exc:
        raise RequestRefused(f"{agency}'s evaluated set is incomplete: {exc}") from exc
    if not any(verify_signature(key, _signed_bytes(body), signature) for key in public_keys):
        raise RequestRefused(f"{agency}'s evaluated set does not verify with its pinned key")
    if body["agency"] != agency:
        raise RequestRefused(f"the evaluated set is {body['agency']}'s, not {agency}'s")
    expires = _time(body["expires_at"], "expiry")
    if expires <= (now or datetime.now(UTC)):
        raise RequestRefused(
            f"{agency}'s evaluated set expired at {body['expires_at']}; nothing was matched"
        )
    return EvaluatedSet(
        agency,
        unb64(str(body["oprf_public_key"]), "the OPRF key"),
        _time(body["issued_at"], "issue time"),
        expires,
        frozenset(str(t) for t in body["tags"]),
    )
