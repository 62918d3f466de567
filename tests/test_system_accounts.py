"""A forum's system accounts (phpBB ``user_type = 2``: the Anonymous guest user and the
search-engine bots) are evidence of nothing: `vigil synth` boards carry them, as real boards
do, and they never become subjects (docs/architecture.md, "One reading of the evidence")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.actors import admin_actor
from tests.synth_cache import synth_operation
from vigil.store.db import Store
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import list_subjects
from vigil.workflows.sources.activity import read_activity
from vigil.workflows.sources.ingest import ingest


def _system_users(board: Path) -> dict[int, str]:
    with sqlite3.connect(board) as db:
        rows = db.execute("SELECT user_id, username FROM phpbb_users WHERE user_type = 2")
        return dict(rows.fetchall())


def test_synth_boards_have_anonymous_and_bots() -> None:
    system = _system_users(synth_operation(1) / "forum" / "phpbb.sqlite")
    assert system[1] == "Anonymous"
    assert sum(name.endswith(("[Bot]", "[Spider]", "[Google]")) for name in system.values()) >= 3


def test_system_accounts_never_become_subjects(sqlite_store: Store) -> None:
    board = synth_operation(1) / "forum" / "phpbb.sqlite"
    system = set(_system_users(board).values())
    ingest(sqlite_store, admin_actor(sqlite_store), "phpbb", str(board), "CASE-1")
    with sqlite_store.reading() as session:
        activity = read_activity(session)
    assert len(activity.system_accounts) == len(system)
    assert not {a.username for a in activity.accounts.values()} & system
    resolve(sqlite_store, admin_actor(sqlite_store))
    subjects = list_subjects(sqlite_store)
    assert subjects  # the members did become subjects
    usernames = {a["username"] for s in subjects for a in s["accounts"]}
    assert not usernames & system
