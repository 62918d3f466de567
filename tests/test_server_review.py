"""`GET /api/links/review`: the review queue of `vigil links review --json` over HTTP, best first,
a page at a time, within the user's reach, for the roles that decide links (docs/server.md);
a decision through `POST /api/links/{decision}` takes the pair out of it at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.actors import admin_actor
from tests.resolve_store import add_people
from tests.server_support import Unit, served_unit
from vigil.server.policy import ROLES
from vigil.server.web.pages.review import likely, weighs
from vigil.store.db import Store
from vigil.store.models import Case, LinkDecision, Sighting, Source
from vigil.workflows.identity.decisions import find_account
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.review import review_links


@pytest.fixture
def unit(store: Store, tmp_path: Path) -> Iterator[Unit]:
    """Agency TEST holds the hand-made people of tests/identity_data.py (resolved); OTHER
    holds one case of its own and none of TEST's. On SQLite and PostgreSQL."""
    for made in served_unit(store, tmp_path, login_delay_seconds=0.0):
        add_people(store)
        resolve(store, admin_actor(store))
        yield made


def _pairs(items: list[dict]) -> list[tuple[str, str]]:
    return [(item["a"], item["b"]) for item in items]


def test_queue_is_the_workflows_best_first_each_with_reasons_and_evidence(unit: Unit) -> None:
    response = unit.client().get("/api/links/review", headers=unit.bearer("TEST", "analyst"))
    assert response.status_code == 200, response.text
    items = response.json()
    assert len(items) >= 3, "the hand-made people include pairs the model hesitates over"
    assert items == review_links(unit.store, 50)
    values = [item["expected_value"] for item in items]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    for item in items:
        assert item["reasons"] and all(isinstance(r, str) and r for r in item["reasons"])
        assert item["evidence"]
        for evidence in item["evidence"]:
            assert set(evidence) == {"comparison", "level", "weight_bits"}
            assert evidence["level"] and isinstance(evidence["weight_bits"], float)
        assert 0.0 < item["probability"] < 1.0
        assert item["subject_a"] and item["subject_b"]


def test_limit_and_offset_page_the_queue(unit: Unit) -> None:
    client, headers = unit.client(), unit.bearer("TEST", "investigator")
    everything = client.get("/api/links/review", params={"limit": 1000}, headers=headers).json()
    page = client.get("/api/links/review", params={"limit": 2, "offset": 1}, headers=headers)
    assert page.status_code == 200
    assert page.json() == everything[1:3]
    beyond = client.get("/api/links/review", params={"offset": 10_000}, headers=headers)
    assert beyond.json() == []
    refused = client.get("/api/links/review", params={"limit": 0}, headers=headers)
    assert refused.status_code == 422 and set(refused.json()) == {"error", "detail"}


def test_another_agency_sees_none_of_the_queue_and_roles_follow_the_table(unit: Unit) -> None:
    client = unit.client()
    for role in ROLES:
        own = client.get("/api/links/review", headers=unit.bearer("TEST", role))
        other = client.get("/api/links/review", headers=unit.bearer("OTHER", role))
        if role in ("analyst", "investigator", "supervisor"):
            assert own.status_code == other.status_code == 200, role
            assert own.json() and other.json() == [], role
        else:
            assert own.status_code == other.status_code == 403, role
            assert set(own.json()) == {"error", "detail"}
            assert role in own.json()["detail"]
    nobody = client.get("/api/links/review")
    assert nobody.status_code == 401 and set(nobody.json()) == {"error", "detail"}


def test_a_pair_shows_only_when_both_accounts_are_in_reach(unit: Unit) -> None:
    """One account of a pair sighted in OTHER's case too: OTHER still sees no item, since the
    other account would name something only TEST holds. A share of TEST's case shows all."""
    client = unit.client()
    top = client.get("/api/links/review", headers=unit.bearer("TEST", "analyst")).json()[0]
    with unit.store.transaction() as session:
        case = session.scalars(select(Case).where(Case.reference == "OTHER-CASE")).one()
        source_id = session.scalars(select(Source.id).where(Source.case_id == case.id)).first()
        session.add(
            Sighting(
                selector_id=find_account(session, top["a"]).id,
                source_id=source_id,
                case_id=case.id,
                agency_id=case.agency_id,
            )
        )
    assert client.get("/api/links/review", headers=unit.bearer("OTHER", "analyst")).json() == []
    share = client.post(
        "/api/cases/CASE-1/shares",
        json={"agency": "OTHER", "access": "read"},
        headers=unit.bearer("TEST", "supervisor"),
    )
    assert share.status_code in (200, 201), share.text
    own = client.get("/api/links/review", headers=unit.bearer("TEST", "analyst")).json()
    other = client.get("/api/links/review", headers=unit.bearer("OTHER", "analyst")).json()
    assert other == own and top in other


def test_a_decision_takes_the_pair_out_of_the_queue_at_once(unit: Unit) -> None:
    client, headers = unit.client(), unit.bearer("TEST", "analyst")
    before = client.get("/api/links/review", headers=headers).json()
    top = before[0]
    decision = "reject" if top["linked"] else "confirm"
    answer = client.post(
        f"/api/links/{decision}", json={"a": top["a"], "b": top["b"]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] is True
    queue = unit.app.state.review_queue
    # the background recomputation waits until the stale reads below are done, so that they
    # see the last queue whatever the machine's speed
    reads_done = threading.Event()
    build = queue._kept._build

    def held_build(store: Store) -> object:
        reads_done.wait(timeout=60)
        return build(store)

    queue._kept._build = held_build
    stale = queue.view(unit.store, unit.actor("TEST", "analyst"))
    assert not stale.fresh, "the decision moved the evidence head"
    assert (top["a"], top["b"]) not in _pairs(stale.items)
    # The first read after the decision answers from the last queue, less the decided pair,
    # while the queue is computed again in the background.
    after = client.get("/api/links/review", headers=headers).json()
    assert (top["a"], top["b"]) not in _pairs(after)
    assert _pairs(after) == [p for p in _pairs(before) if p != (top["a"], top["b"])]
    reads_done.set()
    queue.settle()
    fresh = queue.view(unit.store, unit.actor("TEST", "analyst"))
    assert fresh.fresh
    assert fresh.items == review_links(unit.store, None)
    assert (top["a"], top["b"]) not in _pairs(fresh.items)


def test_the_page_puts_probability_and_weight_in_words() -> None:
    assert [likely(p) for p in (0.338479, 0.9954, 0.99999, 0.004, 0.0)] == [
        "34%",
        "99.5%",
        "99.9%",
        "0.4%",
        "0.1%",
    ]
    assert weighs(12.551) == "strongly for the same person"
    assert weighs(3.2) == "for the same person"
    assert weighs(-1.5) == "slightly against the same person"
    assert weighs(0.371) == "hardly counts either way"


def test_the_page_decides_only_on_accounts_in_reach(unit: Unit) -> None:
    """Another agency's analyst posting TEST's pair to the page gets "Not found" and records
    nothing; TEST's analyst records the decision and a re-linking job is queued."""
    top = unit.client().get("/api/links/review", headers=unit.bearer("TEST", "analyst")).json()[0]
    form = {"a": top["a"], "b": top["b"], "decision": "reject", "page": "1"}
    for agency, status in (("OTHER", 404), ("TEST", 303)):
        client = unit.signed_in(agency, "analyst")
        form["csrf_token"] = client.cookies["vigil_csrf"]  # type: ignore[attr-defined]
        answers = {
            action: client.post(  # type: ignore[attr-defined]
                f"/links/review/{action}", data=form, follow_redirects=False
            )
            for action in ("decide", "skip")
        }
        for action, response in answers.items():
            assert response.status_code == status, (agency, action, response.text[:200])
        with unit.store.reading() as session:
            decided = session.scalar(select(func.count(LinkDecision.id)))
        assert decided == (1 if agency == "TEST" else 0)
    assert answers["decide"].headers["location"].startswith("/links/review?page=1&job=")
    assert "vigil_review_skip" in answers["skip"].headers["set-cookie"]


def test_a_decision_on_the_subject_page_leaves_re_linking_to_the_job(unit: Unit) -> None:
    """The page records the decision and queues one re-link; it does not resolve inside the
    request as well (an analyst would wait seconds, and the job would repeat the work)."""
    from vigil.store.models import AuditEntry
    from vigil.workflows.identity.subjects import list_subjects

    subject = next(s for s in list_subjects(unit.store) if len(s["links"]) >= 1)
    link = subject["links"][0]

    def resolve_runs() -> int:
        with unit.store.reading() as session:
            count = session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "resolve.run")
            )
        return int(count or 0)

    before = resolve_runs()
    client = unit.signed_in("TEST", "analyst")
    response = client.post(  # type: ignore[attr-defined]
        f"/subjects/{subject['id']}/links",
        data={
            "a": link["a"],
            "b": link["b"],
            "decision": "reject",
            "csrf_token": client.cookies["vigil_csrf"],  # type: ignore[attr-defined]
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"].startswith(f"/subjects/{subject['id']}?job=")
    with unit.store.reading() as session:
        decisions = session.scalars(select(LinkDecision)).all()
    assert [d.decision for d in decisions] == ["reject"]
    assert resolve_runs() == before
