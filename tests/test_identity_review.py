"""The review queue: unsure pairs ordered by expected value, each with reasons and evidence,
and the analyst's answers fed back through `vigil link confirm|reject`."""

from __future__ import annotations

import json

import pytest

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.identity_data import people
from tests.resolve_store import add_people
from vigil.identity.clusters import Cluster, Constraints, Link
from vigil.identity.features import Population, account_columns
from vigil.identity.resolution import resolve
from vigil.identity.review import REVIEW_FLOOR, SURE, review_queue
from vigil.store.db import Store
from vigil.workflows.identity.resolve import resolve as resolve_store
from vigil.workflows.identity.subjects import list_subjects


def test_queue_orders_by_expected_value_and_explains_every_item() -> None:
    profiles, truth = people()
    outcome = resolve(
        profiles, Constraints(victims=frozenset({15})), threads=1, review_floor=REVIEW_FLOOR
    )
    items = review_queue(
        outcome.clusters, outcome.near_misses, outcome.columns, Constraints(victims=frozenset({15}))
    )
    assert items, "the CGNAT strangers share an address within the hour: the model hesitates"
    values = [i.expected_value for i in items]
    assert values == sorted(values, reverse=True)
    sizes = {m: len(c.members) for c in outcome.clusters for m in c.members}
    for item in items:
        assert item.reasons and all(isinstance(r, str) and r for r in item.reasons)
        assert {e.comparison for e in item.evidence} >= {"alias"}
        assert REVIEW_FLOOR <= item.probability < (SURE if item.linked else 0.99)
        if not item.linked:
            assert item.accounts_affected == sizes[item.a] * sizes[item.b]
            assert item.expected_value == pytest.approx(item.probability * item.accounts_affected)
        assert 15 not in (item.a, item.b) or truth[item.a] == truth[item.b]
    cgnat = next(i for i in items if {i.a, i.b} == {9, 10})
    assert not cgnat.linked and any("shared IP within 24 h" in r for r in cgnat.reasons)


def test_expected_value_weighs_probability_by_the_accounts_a_decision_moves() -> None:
    profiles, _truth = people()
    population = Population.of(profiles)
    columns = {p.account_id: account_columns(p, population) for p in profiles}
    clusters = [
        Cluster([1, 2, 3], [Link(1, 2, 0.995, ()), Link(2, 3, 0.9999, ())]),
        Cluster([5], []),
        Cluster([6], []),
        Cluster([7], []),
    ]
    near = [(3, 5, 0.6), (6, 7, 0.9)]
    items = review_queue(clusters, near, columns, Constraints())
    by_pair = {(i.a, i.b): i for i in items}
    assert by_pair[(3, 5)].expected_value == pytest.approx(0.6 * 3)  # joins 3 accounts to 1
    assert by_pair[(6, 7)].expected_value == pytest.approx(0.9 * 1)
    weak = by_pair[(1, 2)]  # a model link: rejecting it parts {1} from {2, 3}
    assert weak.linked and weak.expected_value == pytest.approx(0.005 * 2)
    assert (2, 3) not in by_pair  # the model is sure of that one
    assert [(i.a, i.b) for i in items] == [(3, 5), (6, 7), (1, 2)]


def _queue() -> list[dict]:
    result = run_cli("links", "review", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_links_review_json_and_decisions_feed_back(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    resolve_store(sqlite_store, admin_actor(sqlite_store))
    queue = _queue()
    assert queue
    assert [i["expected_value"] for i in queue] == sorted(
        (i["expected_value"] for i in queue), reverse=True
    )
    for item in queue:
        assert {"a", "b", "probability", "linked", "expected_value", "reasons", "evidence"} <= set(
            item
        )
        assert item["reasons"] and item["evidence"]
        assert all({"comparison", "level", "weight_bits"} == set(e) for e in item["evidence"])
    top = queue[0]
    decision = "reject" if top["linked"] else "confirm"
    assert run_cli("link", decision, top["a"], top["b"]).exit_code == 0
    assert (top["a"], top["b"]) not in {(i["a"], i["b"]) for i in _queue()}
    resolve_store(sqlite_store, admin_actor(sqlite_store))
    together = any(
        {top["a"], top["b"]}
        <= {f"{a['platform'].casefold()}:{a['username'].casefold()}" for a in s["accounts"]}
        for s in list_subjects(sqlite_store)
    )
    assert together == (decision == "confirm")
