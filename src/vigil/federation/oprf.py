"""The oblivious PRF of RFC 9497, verifiable mode, suite ristretto255-SHA512.

A thin layer over the ``voprf`` package (Python bindings to the Rust ``voprf`` crate) so that
the rest of Vigil speaks bytes and lists, and so that a malformed or unproven message from a
peer becomes a Vigil error rather than a ``ValueError`` from the bindings. The holder's key is
derived from a 32-byte seed with RFC 9497's ``DeriveKeyPair`` and a fixed key-info string, so
the seed file is all a node needs to keep.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from voprf import ristretto

from vigil.errors import IntegrityViolation

KEY_INFO = b"vigil deconfliction v1"
MAX_BATCH = 65_535
"""RFC 9497 batches are bounded by a 2-byte count; the bindings enforce it."""
ELEMENT_BYTES = 32
_STDERR_HELD = threading.Lock()
"""Finalisation holds the GIL anyway; the lock keeps two threads from swapping fd 2 at once."""


class OprfKey:
    """The holder's secret: evaluates known inputs (its own selectors) and blinded ones."""

    def __init__(self, seed: bytes, info: bytes = KEY_INFO):
        if len(seed) != 32:
            raise ValueError("an OPRF seed is 32 bytes")
        self._evaluator = ristretto.Evaluator.from_seed(seed, info)

    @property
    def public_key(self) -> bytes:
        return bytes(self._evaluator.public_key.serialize())

    def evaluate_known(self, inputs: Sequence[bytes]) -> list[bytes]:
        """RFC 9497 ``Evaluate``: the PRF output for inputs the holder knows in the clear."""
        return [bytes(self._evaluator.evaluate_known_input(item)) for item in inputs]

    def evaluate_blinded(self, blinded: Sequence[bytes]) -> bytes:
        """RFC 9497 ``BlindEvaluateBatch`` with one DLEQ proof for the whole batch."""
        if not blinded:
            raise IntegrityViolation("an evaluation request must hold at least one element")
        if len(blinded) > MAX_BATCH:
            raise IntegrityViolation(f"an evaluation batch holds at most {MAX_BATCH} elements")
        try:
            elements = [ristretto.BlindedInput.deserialize(item) for item in blinded]
            return bytes(self._evaluator.evaluate_batch(elements).serialize())
        except ValueError as exc:
            raise IntegrityViolation(f"not a blinded ristretto255 element: {exc}") from exc


@dataclass
class BlindedBatch:
    """The querier's half: the blinded elements to send, and the state to finalise them."""

    blinded: list[bytes]
    _clients: list[ristretto.Client]

    def finalize(self, evaluated_batch: bytes, holder_public_key: bytes) -> list[bytes]:
        """Unblind and check the holder's proof that it used ``holder_public_key``."""
        try:
            key = ristretto.PublicKey.deserialize(holder_public_key)
            batch = ristretto.VerifiableBatchOutput.deserialize(evaluated_batch)
            with _STDERR_HELD, _rust_panics_kept_off_stderr():
                outputs = ristretto.Client.finalize_batch(self._clients, batch, key)
        except ValueError as exc:
            raise _unproven(exc) from exc
        except BaseException as exc:
            # The bindings' batch finalisation panics (pyo3's PanicException, a
            # BaseException) instead of raising when the proof fails.
            if type(exc).__name__ != "PanicException":
                raise
            raise _unproven(exc) from exc
        return [bytes(output) for output in outputs]


def _unproven(exc: BaseException) -> IntegrityViolation:
    reason = str(exc).rsplit(":", 1)[-1].strip() or "invalid proof"
    return IntegrityViolation(
        f"the peer's evaluation does not verify against its published key ({reason})"
    )


@contextmanager
def _rust_panics_kept_off_stderr() -> Iterator[None]:
    """Hold file descriptor 2 while the bindings run: a Rust panic prints its message there
    before Python sees the exception. Whatever else was written is passed on afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        panicked = False
        try:
            yield
        except BaseException:
            panicked = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read()
            if text and not (panicked and b"panicked" in text):
                os.write(2, text)


def blind(inputs: Sequence[bytes]) -> BlindedBatch:
    """RFC 9497 ``Blind`` for each input, with a fresh random blind each."""
    clients: list[ristretto.Client] = []
    blinded: list[bytes] = []
    for item in inputs:
        client, element = ristretto.Client.blind(item)
        clients.append(client)
        blinded.append(bytes(element.serialize()))
    return BlindedBatch(blinded, clients)
