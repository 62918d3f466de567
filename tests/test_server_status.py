"""Where a referral and a series stand, recorded over the API: by the roles of the role table
(docs/server.md), within the agency's reach, each change audited with its note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.server_support import Unit, add_referral, add_series, served_unit
from vigil.store.db import Store
from vigil.store.models import AuditEntry, ReferralStatus, Series


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def _audit(unit: Unit, action: str) -> list[dict[str, object]]:
    with unit.store.reading() as session:
        return [
            json.loads(e.details or "{}")
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        ]


def test_a_referral_status_is_recorded_with_its_history_and_audit(unit: Unit) -> None:
    client = unit.client()
    referral = add_referral(unit, "TEST")
    url = f"/api/referrals/{referral}/status"
    headers = unit.bearer("TEST", "investigator")
    sent = client.post(url, json={"status": "sent", "note": "by courier"}, headers=headers)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["id"], sent.json()["status"], sent.json()["changed"]) == (
        referral,
        "sent",
        True,
    )
    again = client.post(url, json={"status": "sent"}, headers=headers)
    assert again.json()["changed"] is False
    listed = client.get("/api/referrals", headers=headers).json()
    assert [r["status"] for r in listed if r["id"] == referral] == ["sent"]
    with unit.store.reading() as session:
        history = session.scalars(
            select(ReferralStatus).where(ReferralStatus.referral_id == referral)
        ).all()
    assert [(h.status, h.note) for h in history] == [("sent", "by courier")]
    assert _audit(unit, "referral.status") == [
        {"from": "prepared", "to": "sent", "note": "by courier"}
    ]

    bad = client.post(url, json={"status": "lost"}, headers=headers)
    assert bad.status_code == 400 and "status must be one of" in bad.json()["detail"]
    assert (
        client.post(
            url, json={"status": "closed"}, headers=unit.bearer("TEST", "analyst")
        ).status_code
        == 403
    )
    other = client.post(
        url, json={"status": "closed"}, headers=unit.bearer("OTHER", "investigator")
    )
    assert other.status_code == 404
    assert [
        r["status"]
        for r in client.get("/api/referrals", headers=headers).json()
        if r["id"] == referral
    ] == ["sent"]


def test_a_series_status_is_set_within_reach_and_audited(unit: Unit) -> None:
    client = unit.client()
    series = add_series(unit, "TEST")
    url = f"/api/series/{series}/status"
    body = {"status": "in_progress", "note": "school uniform badge"}
    done = client.post(url, json=body, headers=unit.bearer("TEST", "supervisor"))
    assert done.status_code == 200, done.text
    assert done.json() == {
        "id": series,
        "label": "camera of TEST-CASE",
        "status": "in_progress",
        "changed": True,
    }
    assert _audit(unit, "series.status") == [
        {
            "label": "camera of TEST-CASE",
            "from": "unidentified",
            "to": "in_progress",
            "note": "school uniform badge",
        }
    ]
    assert (
        client.post(
            url, json={"status": "gone"}, headers=unit.bearer("TEST", "investigator")
        ).status_code
        == 400
    )
    assert client.post(url, json=body, headers=unit.bearer("TEST", "analyst")).status_code == 403
    investigator = unit.bearer("OTHER", "investigator")
    assert client.post(url, json={"status": "identified"}, headers=investigator).status_code == 404
    # Shared read-only, OTHER sees the case but may not change its series; to contribute, it may.
    share = "/api/cases/TEST-CASE/shares"
    admin = unit.bearer("TEST", "investigator")
    assert (
        client.post(share, json={"agency": "OTHER", "access": "read"}, headers=admin).status_code
        == 200
    )
    assert client.post(url, json={"status": "identified"}, headers=investigator).status_code == 403
    assert (
        client.post(
            share, json={"agency": "OTHER", "access": "contribute"}, headers=admin
        ).status_code
        == 200
    )
    assert client.post(url, json={"status": "identified"}, headers=investigator).status_code == 200
    with unit.store.reading() as session:
        assert session.get(Series, series).status == "identified"  # type: ignore[union-attr]
