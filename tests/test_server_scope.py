"""Agency scoping: a user sees their agency's cases and what derives from them, plus cases
another agency shared with theirs; anything else answers 404 as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_support import Unit, served_unit
from tests.synth_cache import synth_operation
from vigil.store.db import Store


@pytest.fixture
def unit(store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(store, tmp_path, login_delay_seconds=0.0)


def _get(unit: Unit, agency: str, path: str) -> tuple[int, object]:
    response = unit.client().get(path, headers=unit.bearer(agency, "analyst"))
    return response.status_code, response.json()


def test_each_agency_sees_only_its_own(unit: Unit) -> None:
    mine, theirs = unit.objects["TEST"], unit.objects["OTHER"]
    status, cases = _get(unit, "TEST", "/api/cases")
    assert status == 200
    assert {c["reference"] for c in cases} == {"CASE-1", "TEST-CASE"}  # type: ignore[union-attr]
    status, subjects = _get(unit, "TEST", "/api/subjects")
    assert [s["id"] for s in subjects] == [mine.subject_id]  # type: ignore[union-attr]
    assert _get(unit, "TEST", f"/api/subjects/{theirs.subject_id}")[0] == 404
    assert _get(unit, "TEST", f"/api/files/{theirs.file_sha256}")[0] == 404
    assert _get(unit, "TEST", f"/api/cases/{theirs.case}")[0] == 404
    missing = _get(unit, "TEST", "/api/cases/NO-SUCH-CASE")
    hidden = _get(unit, "TEST", f"/api/cases/{theirs.case}")
    assert missing[1]["error"] == hidden[1]["error"] == "not_found"  # type: ignore[index]
    status, file = _get(unit, "TEST", f"/api/files/{mine.file_sha256}")
    assert status == 200 and [i["path"] for i in file["instances"]] == ["/test.png"]  # type: ignore[index]
    graph = _get(unit, "OTHER", "/api/network/graph")[1]
    labels = {n["label"] for n in graph["nodes"] if n["kind"] == "subject"}  # type: ignore[index]
    assert labels == {"subject other"}


def test_a_shared_case_opens_its_subjects_read_only_or_to_contribute(unit: Unit) -> None:
    mine, theirs = unit.objects["TEST"], unit.objects["OTHER"]
    owner = unit.client()
    shared = owner.post(
        f"/api/cases/{theirs.case}/shares",
        json={"agency": "TEST", "access": "read"},
        headers=unit.bearer("OTHER", "investigator"),
    )
    assert shared.status_code == 200
    status, case = _get(unit, "TEST", f"/api/cases/{theirs.case}")
    assert status == 200 and case["agency"] == "OTHER"  # type: ignore[index]
    ids = [s["id"] for s in _get(unit, "TEST", "/api/subjects")[1]]  # type: ignore[union-attr]
    assert ids == sorted([mine.subject_id, theirs.subject_id])
    assert _get(unit, "TEST", f"/api/files/{theirs.file_sha256}")[0] == 200
    # the other agency still does not see ours, and a reader cannot re-share their case
    assert _get(unit, "OTHER", f"/api/subjects/{mine.subject_id}")[0] == 404
    reshare = unit.client().post(
        f"/api/cases/{theirs.case}/shares",
        json={"agency": "TEST", "access": "contribute"},
        headers=unit.bearer("TEST", "investigator"),
    )
    assert reshare.status_code == 403
    audit = unit.client().get("/api/audit", headers=unit.bearer("OTHER", "supervisor")).json()
    assert [e["action"] for e in audit if e["action"] == "case.share"] == ["case.share"]
    assert all(not e["actor"].startswith("TEST/") for e in audit)


def test_an_agency_contributes_evidence_to_a_case_shared_to_contribute(unit: Unit) -> None:
    chat = synth_operation(1) / "chat" / "parley.jsonl"
    contributor = unit.bearer("TEST", "investigator")
    upload = {"format": "chat-jsonl", "name": chat.name, "platform": "Parley"}
    url = "/api/cases/OTHER-CASE/sources"
    client = unit.client()
    assert (
        client.post(url, params=upload, content=chat.read_bytes(), headers=contributor).status_code
        == 404
    )
    for access, status in (("read", 403), ("contribute", 202)):
        client.post(
            "/api/cases/OTHER-CASE/shares",
            json={"agency": "TEST", "access": access},
            headers=unit.bearer("OTHER", "investigator"),
        )
        sent = client.post(url, params=upload, content=chat.read_bytes(), headers=contributor)
        assert sent.status_code == status, sent.text
    unit.app.state.job_runner.run_until_idle()
    job = client.get(f"/api/jobs/{sent.json()['id']}", headers=contributor).json()
    assert job["state"] == "done", job["error"]
    assert job["result"]["case"] == "OTHER-CASE" and job["result"]["new_sources"] == 1
    owner_view = client.get("/api/cases/OTHER-CASE", headers=unit.bearer("OTHER", "analyst")).json()
    assert [s["original_name"] for s in owner_view["sources"]] == ["other.jsonl", chat.name]
    assert (
        client.get(
            f"/api/jobs/{sent.json()['id']}", headers=unit.bearer("OTHER", "analyst")
        ).status_code
        == 404
    )
