"""Kill-and-resume: a real `vigil triage` process, a real SIGKILL, then a second run.

The workflow's test hook writes ``ready`` to a pipe at a chosen point (after batch N has
committed, or inside batch N's open transaction) and then waits, so the kill lands exactly
there without any sleep. The resumed run must end with the same counts and the same rows as
an uninterrupted run into another database, and must not hash again anything committed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from tests.actors import admin_actor
from tests.test_triage import build_device, import_sets
from tests.triage_support import paused_triage
from vigil.store.db import Store
from vigil.store.models import (
    File,
    FileInstance,
    HashEntry,
    HashSet,
    Match,
    Series,
    SeriesFile,
    Source,
)
from vigil.workflows.media.triage import triage
from vigil.workflows.operation.setup import init_store, open_case


def vigil(db_url: str, root: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "vigil", "--db", db_url, "triage", str(root),
        "--case", "CASE-1", "--jobs", "2", "--batch-files", "4", *extra,
    ]  # fmt: skip


def fresh_store(url: str, device) -> Store:
    store = Store(url)
    init_store(store, "TEST", "Test Unit", "CA")
    open_case(store, admin_actor(store), "CASE-1")
    import_sets(store, device)
    return store


def rows(store: Store) -> dict[str, set]:
    """Every triage row, by content (ids differ between databases)."""
    with store.reading() as session:
        sha = dict(session.execute(sql_select(File.id, File.sha256)).all())
        files = set(
            session.execute(
                sql_select(
                    File.sha256, File.md5, File.sha1, File.size_bytes, File.mime, File.pdq,
                    File.pdq_quality, File.exif_serial, File.error,
                )
            ).all()
        )  # fmt: skip
        instances = {
            (path, sha[file_id], modified, deleted, carved, mismatch)
            for path, file_id, modified, deleted, carved, mismatch in session.execute(
                sql_select(
                    FileInstance.path, FileInstance.file_id, FileInstance.modified_at,
                    FileInstance.deleted, FileInstance.carved, FileInstance.extension_mismatch,
                )
            )
        }  # fmt: skip
        matches = {
            (sha[file_id], set_name, entry_md5, kind, distance)
            for file_id, set_name, entry_md5, kind, distance in session.execute(
                sql_select(
                    Match.file_id, HashSet.name, HashEntry.md5, Match.kind, Match.distance_bits
                )
                .join(HashSet, HashSet.id == Match.hash_set_id)
                .join(HashEntry, HashEntry.id == Match.hash_entry_id)
            )
        }
        series = set()
        for series_row in session.scalars(sql_select(Series)):
            members = frozenset(
                sha[file_id]
                for file_id in session.scalars(
                    sql_select(SeriesFile.file_id).where(SeriesFile.series_id == series_row.id)
                )
            )
            series.add((series_row.label, series_row.camera_serial, series_row.reasons, members))
        statuses = set(session.scalars(sql_select(Source.status).where(Source.kind == "evidence")))
    return {
        "files": files,
        "instances": instances,
        "matches": matches,
        "series": series,
        "statuses": statuses,
    }


def instance_ids(store: Store) -> dict[str, int]:
    with store.reading() as session:
        return dict(session.execute(sql_select(FileInstance.path, FileInstance.id)).all())


def logged(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pause", "committed_batches"), [("after-commit:2", 2), ("in-transaction:3", 2)]
)
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, pause, committed_batches):
    device = build_device(tmp_path)
    killed_url = f"sqlite:///{tmp_path / 'killed.db'}"
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    killed, clean = fresh_store(killed_url, device), fresh_store(clean_url, device)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    env = {**os.environ, "VIGIL_TRIAGE_HASH_LOG": str(first_log)}
    with paused_triage(vigil(killed_url, device.root), env, pause) as process:
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL

    committed = instance_ids(killed)
    assert len(committed) == 4 * committed_batches
    with killed.reading() as session:
        status = session.scalars(sql_select(Source.status).where(Source.kind == "evidence"))
        assert set(status) == {"in_progress"}

    resumed = subprocess.run(
        vigil(killed_url, device.root, "--summary-json", str(tmp_path / "resumed.json")),
        env={**os.environ, "VIGIL_TRIAGE_HASH_LOG": str(second_log)},
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {len(committed)} files" in resumed.stderr
    uninterrupted = triage(clean, admin_actor(clean), device.root, "CASE-1", jobs=1, batch_files=4)

    resumed_summary = json.loads((tmp_path / "resumed.json").read_text())
    clean_summary = uninterrupted.summary.as_dict()
    resumed_summary.pop("seconds"), clean_summary.pop("seconds")
    assert resumed_summary == clean_summary
    assert resumed_summary["files"] == len(device.files)
    assert rows(killed) == rows(clean)
    # Nothing committed before the kill was hashed again, and everything was hashed once.
    assert set(logged(second_log)).isdisjoint(committed)
    assert set(logged(second_log)) == set(device.files) - set(committed)
    assert set(logged(first_log)) | set(logged(second_log)) == set(device.files)
    # The committed rows are the same rows, not re-created ones.
    after = instance_ids(killed)
    assert {path: after[path] for path in committed} == committed
    killed.dispose()
    clean.dispose()
