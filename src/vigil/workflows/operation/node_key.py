"""Where this node's signing key is, for everything that signs: audit checkpoints, packages.

The key is the federation node key (``vigil.federation.keys``): a file outside the database,
so whoever can rewrite the database still cannot sign. Its folder is, in order: the one the
caller names (``--keys`` or ``VIGIL_KEYS`` at the CLI), the federation node's recorded
``keys_dir``, else ``vigil-keys`` beside a SQLite database. On PostgreSQL with no node yet,
the caller must name it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from vigil.errors import UsageError
from vigil.federation.keys import SIGNING_FILE, create_keys, load_signer
from vigil.federation.signing import Signer, public_key_text
from vigil.store.db import Store
from vigil.store.models import FederationNode

KEYS_FOLDER = "vigil-keys"


def key_directory(store: Store, explicit: Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    with store.reading() as session:
        recorded = session.scalars(select(FederationNode.keys_dir).limit(1)).first()
    if recorded:
        return Path(recorded)
    database = make_url(store.url).database if store.dialect == "sqlite" else None
    if not database or database == ":memory:":
        raise UsageError("say where the node's keys are: --keys DIR or VIGIL_KEYS")
    return Path(database).expanduser().resolve().parent / KEYS_FOLDER


def node_signer(store: Store, agency: str, keys: Path | None = None) -> Signer:
    """The node's signer; its key files are made on first use."""
    directory = key_directory(store, keys)
    if not (directory / SIGNING_FILE).exists():
        create_keys(directory)
    return load_signer(directory, agency)


def trusted_public_key(store: Store, keys: Path | None = None) -> str | None:
    """The node's public key, read from the key file outside the database; None if none."""
    try:
        directory = key_directory(store, keys)
    except UsageError:
        return None
    if not (directory / SIGNING_FILE).exists():
        return None
    return public_key_text(load_signer(directory, "").public_key)
