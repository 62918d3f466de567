"""The node's private keys: files on disk beside the database, never rows inside it.

A node has two secrets, each a 32-byte seed in its own file readable by its owner only:
``signing.key`` (Ed25519: every request and package it sends) and ``oprf.key`` (RFC 9497:
its evaluated selectors). The database holds only the public halves. Rotation keeps the old
signing seed as ``signing.key.previous`` until peers have learned the new one. Other parts of
Vigil that sign (packages, checkpoints) reuse ``load_signer``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import NotFound, UsageError
from vigil.federation.oprf import OprfKey
from vigil.federation.signing import Signer

SIGNING_FILE = "signing.key"
OPRF_FILE = "oprf.key"
PREVIOUS_SIGNING_FILE = "signing.key.previous"


@dataclass(frozen=True)
class NodeKeys:
    signer: Signer
    oprf: OprfKey
    directory: Path


def _write_secret(path: Path, seed: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(seed.hex().encode() + b"\n")
    temporary.replace(path)


def _read_secret(path: Path) -> bytes:
    try:
        seed = bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        raise NotFound(f"no node key at {path}; run `vigil federation init`") from None
    except (ValueError, OSError) as exc:
        raise UsageError(f"unreadable node key {path}: {exc}") from exc
    if len(seed) != 32:
        raise UsageError(f"unreadable node key {path}: not 32 bytes")
    return seed


def has_keys(directory: Path) -> bool:
    """Whether both keys are in ``directory``."""
    return all((directory / name).is_file() for name in (SIGNING_FILE, OPRF_FILE))


def create_keys(directory: Path) -> bool:
    """Make both keys unless they exist; returns whether anything was made."""
    made = False
    for name in (SIGNING_FILE, OPRF_FILE):
        if not (directory / name).exists():
            _write_secret(directory / name, secrets.token_bytes(32))
            made = True
    return made


def rotate_signing_key(directory: Path) -> None:
    """The current key becomes ``previous``; a new one takes its place."""
    current = _read_secret(directory / SIGNING_FILE)
    _write_secret(directory / PREVIOUS_SIGNING_FILE, current)
    _write_secret(directory / SIGNING_FILE, secrets.token_bytes(32))


def load_signer(directory: Path, agency: str, *, previous: bool = False) -> Signer:
    name = PREVIOUS_SIGNING_FILE if previous else SIGNING_FILE
    return Signer(agency, _read_secret(directory / name))


def load_keys(directory: Path, agency: str) -> NodeKeys:
    return NodeKeys(
        signer=load_signer(directory, agency),
        oprf=OprfKey(_read_secret(directory / OPRF_FILE)),
        directory=directory,
    )
