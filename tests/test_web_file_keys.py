"""A file page is addressed by the file's strongest hash, so two files that share a weaker one
(a report's MD5 that other bytes also have) each open their own page (docs/web.md, "Pages")."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.server_support import Unit, served_unit
from vigil.store.db import Store
from vigil.store.models import Case, Event, File, FileInstance, Source


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def test_files_sharing_an_md5_each_open_their_own_page(unit: Unit) -> None:
    md5 = hashlib.md5(b"shared").hexdigest()
    held_sha = hashlib.sha256(b"held").hexdigest()
    reported_sha1 = hashlib.sha1(b"reported").hexdigest()
    actor = unit.actor("TEST", "investigator")
    with unit.store.transaction() as session:
        case = session.scalars(select(Case).where(Case.reference == "TEST-CASE")).one()
        source = session.scalars(select(Source).where(Source.case_id == case.id)).one()
        held = File(sha256=held_sha, md5=md5, mime="image/png", size_bytes=4)
        reported = File(sha1=reported_sha1, md5=md5)
        session.add_all([held, reported])
        session.flush()
        session.add(FileInstance(file_id=held.id, source_id=source.id, path="/held.png"))
        session.add(
            Event(
                kind="upload",
                file_id=reported.id,
                source_id=source.id,
                case_id=case.id,
                agency_id=actor.agency_id,
                extra={"report_id": "77", "file_name": "reported.jpg"},
            )
        )
    client = unit.signed_in("TEST", "analyst")
    by_sha1 = client.get(f"/files/{reported_sha1}")
    assert by_sha1.status_code == 200
    assert "report 77" in by_sha1.text and "Not found on any seized device" in by_sha1.text
    by_sha256 = client.get(f"/files/{held_sha}")
    assert "/held.png" in by_sha256.text and "report 77" not in by_sha256.text
    listing = client.get("/files").text  # each listed under its own key
    assert f'href="/files/{reported_sha1}"' in listing and f'href="/files/{held_sha}"' in listing
    other = unit.signed_in("OTHER", "analyst")
    assert other.get(f"/files/{reported_sha1}").status_code == 404
