"""A referral package as it travels between nodes, signed by the sending node.

The message holds every file of the package (manifest, PDF summary, file list; never media),
the manifest's SHA-256, the subjects' ids on the sending side, an idempotency key, and an
Ed25519 signature over key, referral id and manifest hash. The receiver checks the signature
against the sender's pinned key and the manifest hash against the manifest it received; the
manifest in turn lists the SHA-256 of every other file (``vigil.referral.package``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import NotFound
from vigil.federation.signing import RequestRefused, Signer, b64, unb64, verify_signature
from vigil.referral.package import MANIFEST_NAME


@dataclass(frozen=True)
class ReceivedPackage:
    idempotency_key: str
    referral_id: int
    manifest_sha256: str
    reference: str
    files: dict[str, bytes]
    subjects: list[int]
    signature: str


def package_files(directory: Path) -> dict[str, bytes]:
    if not (directory / MANIFEST_NAME).is_file():
        raise NotFound(f"no referral package at {directory}")
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _statement(key: str, referral_id: int, manifest_sha256: str) -> bytes:
    return f"vigil-referral-v1\n{key}\n{referral_id}\n{manifest_sha256}".encode()


def package_message(
    signer: Signer,
    key: str,
    referral_id: int,
    manifest_sha256: str,
    files: dict[str, bytes],
    subjects: list[int],
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "referral_id": referral_id,
        "manifest_sha256": manifest_sha256,
        "subjects": subjects,
        "files": {name: b64(data) for name, data in sorted(files.items())},
        "signature": b64(signer.sign(_statement(key, referral_id, manifest_sha256))),
    }


def verify_message(
    payload: dict[str, Any], sender: str, public_keys: list[bytes]
) -> ReceivedPackage:
    """Signature, then manifest hash; raises ``RequestRefused`` naming what does not hold."""
    try:
        key = str(payload["idempotency_key"])[:100]
        referral_id = int(payload["referral_id"])
        manifest_sha256 = str(payload["manifest_sha256"]).lower()
        subjects = [int(s) for s in payload["subjects"]]
        files = {str(n): unb64(str(d), f"file {n}") for n, d in dict(payload["files"]).items()}
        signature = str(payload["signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RequestRefused(f"incomplete referral package from {sender}: {exc}") from exc
    statement = _statement(key, referral_id, manifest_sha256)
    if not any(
        verify_signature(k, statement, unb64(signature, "the package signature"))
        for k in public_keys
    ):
        raise RequestRefused(f"the package signature does not verify with {sender}'s key")
    manifest = files.get(MANIFEST_NAME)
    if manifest is None or hashlib.sha256(manifest).hexdigest() != manifest_sha256:
        raise RequestRefused(
            f"tampered package: {MANIFEST_NAME} does not match the signed SHA-256 {manifest_sha256}"
        )
    try:
        reference = str(json.loads(manifest)["reference"])[:100]
    except (ValueError, KeyError, TypeError) as exc:
        raise RequestRefused(f"the package manifest is unreadable: {exc}") from exc
    return ReceivedPackage(key, referral_id, manifest_sha256, reference, files, subjects, signature)


def message_files(stored: dict[str, Any]) -> dict[str, bytes]:
    return {str(n): unb64(str(d), f"file {n}") for n, d in dict(stored["files"]).items()}
