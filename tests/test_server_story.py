"""The whole story through the API alone: hash sets, triage, upload and ingest, resolve, rank,
refer, an outcome, on SQLite and on the real PostgreSQL server.

Jobs are drained by the app's own runner between steps (the test does not enter the app's
lifespan, so no background thread races it); each job must end ``done`` with the same JSON
the CLI prints.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.server_support import PASSWORD, add_test_user
from tests.synth_cache import synth_operation
from vigil.server import ServerSettings, create_app
from vigil.server.auth import CSRF_HEADER
from vigil.store.db import Store
from vigil.store.models import AuditEntry


def _run_jobs(client: TestClient) -> None:
    client.app.state.job_runner.run_until_idle()  # type: ignore[attr-defined]


def _job(client: TestClient, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "queued"
    _run_jobs(client)
    finished = client.get(f"/api/jobs/{job['id']}").json()
    assert finished["state"] == "done", finished["error"]
    return finished["result"]


def _upload(client: TestClient, url: str, path: Path, **params: str) -> Any:
    return client.post(url, params={"name": path.name, **params}, content=path.read_bytes())


@pytest.mark.slow
def test_the_story_through_the_api(store: Store, tmp_path: Path) -> None:
    operation = synth_operation(1)
    manifest = json.loads((operation / "truth.json").read_text())
    settings = ServerSettings(
        evidence_root=operation,
        upload_dir=tmp_path / "uploads",
        referral_dir=tmp_path / "referrals",
    )
    add_test_user(store, "TEST", "ines", "investigator")
    client = TestClient(create_app(store, settings), raise_server_exceptions=False)
    login = client.post(
        "/api/auth/login", json={"agency": "TEST", "username": "ines", "password": PASSWORD}
    )
    client.headers[CSRF_HEADER] = login.json()["csrf_token"]

    opened = client.post("/api/cases", json={"reference": "OP-API", "title": "through the API"})
    assert opened.status_code == 201

    for spec in manifest["hashsets"][:3]:
        result = _job(
            client,
            _upload(
                client,
                "/api/hashsets",
                operation / spec["path"],
                format=spec["format"],
                name=spec["name"],
                kind=spec["kind"],
            ),
        )
        assert result["name"] == spec["name"] and result["entries"] > 0

    device = manifest["devices"][0]
    seized = device["seized_from"]
    triaged = _job(
        client,
        client.post(
            "/api/cases/OP-API/triage",
            json={"path": device["path"], "owner": f"{seized['platform']}:{seized['username']}"},
        ),
    )
    counted = {key: triaged[key] for key in device["expected"]}
    assert counted["files"] == device["expected"]["files"]
    assert counted["images"] == device["expected"]["images"]
    assert counted["known_ignorable_files"] == device["expected"]["known_ignorable_files"]

    ingested = 0
    for spec in manifest["sources"]:
        params = {"format": spec["format"]}
        if spec["platform"]:
            params["platform"] = spec["platform"]
        result = _job(
            client, _upload(client, "/api/cases/OP-API/sources", operation / spec["path"], **params)
        )
        assert result["format"] == spec["format"] and result["case"] == "OP-API"
        ingested += result["new_sources"]
    assert ingested == len(manifest["sources"])
    again = manifest["sources"][0]
    repeat = _job(
        client,
        _upload(
            client,
            "/api/cases/OP-API/sources",
            operation / again["path"],
            format=again["format"],
            platform=again["platform"] or "",
        ),
    )
    assert repeat["new_sources"] == 0 and repeat["already_ingested"] == 1
    # The dirty values synth wrote: counted on their sources, in the API and on the case page.
    sources = client.get("/api/cases/OP-API").json()["sources"]
    dirty = {s["original_name"]: s["dirty_value_count"] for s in sources if s["dirty_value_count"]}
    assert dirty == Counter(Path(d["path"]).name for d in manifest["dirty_values"])
    assert all("dirty" in s["first_warnings"][0] for s in sources if s["dirty_value_count"])
    page = client.get("/cases/OP-API")
    assert page.status_code == 200 and page.text.count("dirty, kept verbatim") == len(dirty)
    assert "not an email address: &#39;none&#39;" in page.text

    resolved = _job(client, client.post("/api/resolve", json={}))
    assert resolved["subjects"] > 0
    subjects = client.get("/api/subjects").json()
    assert len(subjects) == resolved["subjects"]
    assert set(subjects[0]) >= {
        "id",
        "label",
        "role",
        "country",
        "priority",
        "accounts",
        "selectors",
    }

    placed = _job(client, client.post("/api/countries"))
    assert sum(placed["by_country"].values()) == len(placed["decisions"]) > 0

    ranking = client.get("/api/network/rank", params={"top": 5}).json()
    assert len(ranking) == 5
    assert list(ranking[0])[:8] == [
        "subject_id", "label", "score", "degree", "betweenness", "community",
        "files_distributed", "recipients",
    ]  # fmt: skip
    assert ranking[0]["score"] >= ranking[-1]["score"]
    top = client.get(f"/api/subjects/{ranking[0]['subject_id']}").json()
    assert top["label"] == ranking[0]["label"]

    referred = _job(client, client.post("/api/referrals", json={"all": True}))
    packages = referred["referrals"]
    assert packages and all(Path(p["package"]).exists() for p in packages)
    listed = client.get("/api/referrals").json()
    assert [r["id"] for r in listed] == [p["id"] for p in packages]

    referred_subject = packages[0]["subjects"][0]
    outcome = client.post(
        "/api/outcomes", json={"subject": referred_subject, "kind": "arrest", "date": "2007-02-01"}
    )
    assert outcome.status_code == 201, outcome.text
    assert outcome.json()["referral_id"] == packages[0]["id"]
    assert client.get("/api/referrals").json()[0]["outcomes"] == [
        {"subject_id": referred_subject, "kind": "arrest", "date": "2007-02-01"}
    ]
    with store.reading() as session:
        login_at = session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "auth.login").order_by(AuditEntry.id)
        )
        actors = set(session.scalars(select(AuditEntry.actor).where(AuditEntry.id >= login_at)))
    assert actors == {"TEST/ines"}  # every write, jobs included, by the signed-in user
