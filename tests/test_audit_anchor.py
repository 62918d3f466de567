"""An audit trail that proves itself (docs/reliability.md): signed checkpoints with a key kept
outside the database catch a rewritten chain; an anchor kept by an auditor catches a cut."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from vigil.store.audit import GENESIS_HASH, entry_hash
from vigil.store.models import AuditEntry
from vigil.workflows.operation.audit import anchor_audit, verify_audit
from vigil.workflows.operation.setup import open_case


def _recompute_chain(store) -> None:
    """What a tamperer with database access does after editing: every hash made good again."""
    with store.transaction() as session:
        previous = GENESIS_HASH
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            entry.prev_hash = previous
            entry.entry_hash = entry_hash(entry)
            previous = entry.entry_hash


@pytest.fixture
def keys(tmp_path):
    return tmp_path / "keys"


def test_an_edit_with_the_chain_recomputed_fails_at_the_checkpoint(store, keys):
    open_case(store, admin_actor(store), "CASE-2")
    anchor_audit(store, admin_actor(store), keys)
    with store.transaction() as session:
        first_case = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.open").order_by(AuditEntry.id)
        ).first()
        first_case.details = first_case.details.replace("CASE-1", "CASE-9")
    _recompute_chain(store)

    report = verify_audit(store, keys=keys)

    assert report.chain.ok  # the hash links alone cannot tell
    assert not report.ok
    assert "no longer has the hash it signed" in report.anchors.problem


def test_a_deleted_tail_fails_against_the_anchor(store, keys, tmp_path):
    open_case(store, admin_actor(store), "CASE-2")
    anchor = anchor_audit(store, admin_actor(store), keys)
    with store.transaction() as session:
        last = session.scalar(select(func.max(AuditEntry.id)))
        session.execute(delete(AuditEntry).where(AuditEntry.id == last))

    assert verify_audit(store, keys=keys).ok  # nothing inside the database shows it
    report = verify_audit(store, anchor, keys)
    assert not report.ok and "cut" in report.anchors.problem


def test_a_checkpoint_re_signed_with_another_key_fails(store, keys, tmp_path):
    anchor_audit(store, admin_actor(store), tmp_path / "attacker")

    report = verify_audit(store, keys=keys.parent / "missing-but-named")
    assert "no node key" in report.anchors.problem
    anchor_audit(store, admin_actor(store), keys)
    report = verify_audit(store, keys=keys)
    assert "signature does not verify" in report.anchors.problem


def test_cli_anchor_then_verify(sqlite_store, tmp_path):
    out = tmp_path / "anchor.json"
    keys = tmp_path / "keys"

    anchored = run_cli("audit", "anchor", "-o", str(out), "--keys", str(keys))
    verified = run_cli("audit", "verify", "--anchor", str(out), "--keys", str(keys))

    assert anchored.exit_code == 0, anchored.stderr
    anchor = json.loads(out.read_text())
    assert set(anchor) >= {"agency", "head_id", "head_hash", "entries", "public_key", "signature"}
    assert (verified.exit_code, verified.stdout.strip()) == (
        0,
        f"audit chain intact: {anchor['entries'] + 1} entries, 1 signed checkpoint(s), "
        "anchor holds",
    )
    with sqlite_store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == anchor["checkpoint_id"]))
    cut = run_cli("audit", "verify", "--anchor", str(out), "--keys", str(keys))
    assert cut.exit_code == 2 and "cut" in cut.stderr
