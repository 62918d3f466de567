"""The case page: a national centre's case holds thousands of provider-report files, so its
sources come a page at a time, newest first, each with what its ingest warned."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.server_support import Unit, served_unit
from vigil.server.web.queries.listing import PAGE_SIZE
from vigil.store.db import Store
from vigil.store.models import Case
from vigil.workflows.sources.provenance import digest_bytes, register_source

ADDED = 2 * PAGE_SIZE + 7  # beside the one source the unit's case already holds
WARNED = 3  # the batch whose ingest warned


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def _listed(html: str) -> list[str]:
    return re.findall(r"<tr><td>[a-z-]+</td><td>([^<]+)</td>", html)


def test_a_case_lists_its_sources_a_page_at_a_time_newest_first(unit: Unit) -> None:
    actor = unit.actor("TEST", "investigator")
    warned = {
        "warning_count": 2,
        "warnings": ["report 7 (line 3): dirty phone kept verbatim, not a selector: <b>"],
        "dirty_value_count": 1,
    }
    with unit.store.transaction() as session:
        case_id = session.scalars(select(Case.id).where(Case.reference == "TEST-CASE")).one()
        for number in range(ADDED):
            register_source(
                session,
                actor,
                kind="cybertip",
                original_name=f"batch-{number:03d}.xml",
                digest=digest_bytes(f"batch {number}".encode()),
                case_id=case_id,
                extra=warned if number == WARNED else None,
            )
    client = unit.signed_in("TEST", "analyst")
    newest_first = [f"batch-{n:03d}.xml" for n in reversed(range(ADDED))] + ["test.jsonl"]

    pages = [client.get("/cases/TEST-CASE", params={"page": n}) for n in (1, 2, 3)]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert [_listed(page.text) for page in pages] == [
        newest_first[:PAGE_SIZE],
        newest_first[PAGE_SIZE : 2 * PAGE_SIZE],
        newest_first[2 * PAGE_SIZE :],
    ]
    assert f"Page 3 of 3 · {ADDED + 1:,} in all" in pages[2].text
    assert 'href="/cases/TEST-CASE?page=2" rel="prev"' in pages[2].text
    # the warned batch, on the last page: its counts and its warning, escaped
    assert pages[2].text.count("(1 dirty, kept verbatim)") == 1
    assert "not a selector: &lt;b&gt;" in pages[2].text
    assert "kept verbatim" not in pages[0].text

    beyond = client.get("/cases/TEST-CASE", params={"page": 99})  # the last page, not an empty one
    assert _listed(beyond.text) == newest_first[2 * PAGE_SIZE :]
