"""The referrals page shows the agency's outbox (what waits for a peer, what went, what a
peer refused) and lets the people who may refer send a package and try again, as jobs;
another agency sees none of it. The delivery itself runs between real nodes in
``test_federation_nodes``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.server_support import Unit, served_unit
from vigil.store.db import Store
from vigil.store.models import OutboxMessage, Peer
from vigil.store.models_server import Job

DELIVER_BUTTON = "Try delivering the 1 waiting again"


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def _queue_messages(unit: Unit) -> None:
    """TEST's outbox: one referral waiting for a peer that is down, one delivered."""
    agency_id = unit.actor("TEST", "investigator").agency_id
    with unit.store.transaction() as session:
        peer = Peer(agency_id=agency_id, code="GB-PEER", url="http://127.0.0.1:9", public_key="k")
        session.add(peer)
        session.flush()
        for key, state, error in (
            ("TEST:referral:1", "delivered", None),
            ("TEST:outcome:2", "pending", "GB-PEER <unreachable>: connection refused"),
        ):
            session.add(
                OutboxMessage(
                    agency_id=agency_id,
                    peer_id=peer.id,
                    kind=key.split(":")[1],
                    idempotency_key=key,
                    payload="{}",
                    state=state,
                    attempts=1,
                    last_error=error,
                )
            )


def _post(
    client: TestClient, path: str, form: dict[str, str], expect: tuple[int, ...] = (303,)
) -> str:
    """A page form's post, with the page's own CSRF token: where it sends the browser, or
    (a refusal) the page it answers."""
    page = client.get("/referrals").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    posted = client.post(path, data={**form, "csrf_token": token[1]}, follow_redirects=False)
    assert posted.status_code in expect, posted.text
    return str(posted.headers["location"]) if posted.status_code == 303 else posted.text


def _job(unit: Unit, location: str) -> Job:
    found = re.fullmatch(r"/referrals\?job=(\d+)", location)
    assert found is not None, location
    with unit.store.reading() as session:
        return session.scalars(select(Job).where(Job.id == int(found[1]))).one()


def test_the_outbox_is_listed_and_its_waiting_messages_sent_again(unit: Unit) -> None:
    _queue_messages(unit)
    investigator = unit.signed_in("TEST", "investigator")
    page = investigator.get("/referrals").text
    assert "<h2>Outbox</h2>" in page
    rows = re.findall(r"<tr><td>\d+</td><td>GB-PEER</td><td>(\w+)</td><td>(\w+)</td>", page)
    assert rows == [("outcome", "pending"), ("referral", "delivered")]  # newest first
    assert "GB-PEER &lt;unreachable&gt;: connection refused" in page  # escaped
    assert DELIVER_BUTTON in page

    job = _job(unit, _post(investigator, "/referrals/deliver", {}))
    assert (job.kind, job.state) == ("deliver", "queued")
    # Asked again while it waits (a double click, the API): the same job, not a second one.
    assert _job(unit, _post(investigator, "/referrals/deliver", {})).id == job.id
    api_again = unit.client().post("/api/outbox/deliver", headers=unit.bearer("TEST", "supervisor"))
    assert api_again.status_code == 202 and api_again.json()["id"] == job.id
    job = _job(unit, _post(investigator, "/referrals", {"country": "gb"}))
    assert job.kind == "refer"
    assert job.arguments["country"] == "GB" and job.arguments["send"] is False
    # A send is refused at once when it cannot go: this unit has no federation identity,
    # and a send names one country.
    for form, reason in (
        ({"country": "GB", "send": "yes"}, "this agency has no federation identity"),
        ({"country": "", "send": "yes"}, "a send names one country"),
    ):
        refused = _post(investigator, "/referrals", form, expect=(404, 400))
        assert reason in refused, form
    with unit.store.reading() as session:
        assert session.scalars(select(Job.id).where(Job.kind == "refer")).all() == [job.id]
    for role in ("analyst", "auditor"):
        page = unit.signed_in("TEST", role)
        assert _post(page, "/referrals/deliver", {}, expect=(403,))

    analyst = unit.signed_in("TEST", "analyst").get("/referrals").text
    assert "<h2>Outbox</h2>" in analyst and DELIVER_BUTTON not in analyst
    other = unit.signed_in("OTHER", "investigator").get("/referrals").text
    assert "GB-PEER" not in other and "<h2>Outbox</h2>" not in other

    api = unit.client()
    listed = api.get("/api/outbox", headers=unit.bearer("TEST", "auditor")).json()
    assert [(m["kind"], m["state"], m["attempts"]) for m in listed] == [
        ("outcome", "pending", 1),
        ("referral", "delivered", 1),
    ]
    assert all("payload" not in m for m in listed)
    assert api.get("/api/outbox", headers=unit.bearer("OTHER", "supervisor")).json() == []


def test_nothing_waiting_starts_no_delivery(unit: Unit) -> None:
    investigator = unit.signed_in("TEST", "investigator")
    assert "<h2>Outbox</h2>" not in investigator.get("/referrals").text
    assert _post(investigator, "/referrals/deliver", {}) == "/referrals"
    with unit.store.reading() as session:
        assert session.scalars(select(Job.id).where(Job.kind == "deliver")).all() == []


def test_a_long_outbox_shows_its_newest_messages(unit: Unit) -> None:
    _queue_messages(unit)
    agency_id = unit.actor("TEST", "investigator").agency_id
    with unit.store.transaction() as session:
        peer_id = session.scalars(select(Peer.id)).one()
        for number in range(25):
            session.add(
                OutboxMessage(
                    agency_id=agency_id,
                    peer_id=peer_id,
                    kind="outcome",
                    idempotency_key=f"TEST:outcome:more-{number}",
                    payload="{}",
                    state="delivered",
                    attempts=1,
                )
            )
    page = unit.signed_in("TEST", "supervisor").get("/referrals").text
    assert "the newest 20 of 27 are shown" in page
    shown = re.findall(r"<tr><td>(\d+)</td><td>GB-PEER</td>", page)
    assert shown == [str(number) for number in range(27, 7, -1)]
    assert DELIVER_BUTTON in page  # the one waiting is not among those shown
