"""The model learned from the store's own data (splink's random sampling and EM) and its guards.

Accounts come from the resolve benchmark's generator (plain profiles, no store), enough of
them for splink to learn from; the workflow test runs the whole `vigil resolve` on a store.
"""

from __future__ import annotations

import json
import logging
import random

import pytest
from benchmarks.bench_resolve import generate
from sqlalchemy import select

from tests.actors import admin_actor
from tests.identity_data import people
from tests.resolve_store import add_profiles
from vigil.identity import learning
from vigil.identity.clusters import Constraints
from vigil.identity.features import AccountColumns, Population, account_columns, compare
from vigil.identity.learning import M_FLOOR, learn
from vigil.identity.linkage import Linkage
from vigil.identity.model import COMPARISONS, PRIORS, RULES, Model, score
from vigil.identity.resolution import resolve
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import AuditEntry
from vigil.workflows.identity.resolve import resolve as resolve_store
from vigil.workflows.identity.review import review_links


@pytest.fixture(scope="module")
def columns() -> list[AccountColumns]:
    profiles, _truth = generate(1500)
    population = Population.of(profiles)
    return [account_columns(p, population) for p in profiles]


@pytest.fixture(scope="module")
def learned(columns: list[AccountColumns]) -> Model:
    return learn(columns, threads=1)


def _levels(model: Model, where: str) -> list[tuple[str, str]]:
    """Levels whose applied m or u was learned (not put back to the prior by a guard)."""
    return [
        (c.name, c.levels[i].label)
        for c in COMPARISONS
        for i, origin in enumerate(model.sources[c.name])
        if where in origin and not origin.startswith("prior m and u")
    ]


def test_m_and_u_are_learned_from_the_data(learned: Model) -> None:
    learned_m = _levels(learned, "learned m")
    learned_u = _levels(learned, "learned u")
    assert ("alias", "same handle, rare in the store") in learned_m
    assert ("ip", "one rare IP within 24 h") in learned_m
    assert ("alias", "different alias") in learned_u and ("ip", "no shared IP") in learned_u
    assert learned.parameters != PRIORS.parameters
    assert any("EM blocked on l.alias_stem = r.alias_stem converged" in n for n in learned.notes)
    assert any("EM blocked on l.rare_ip = r.rare_ip converged" in n for n in learned.notes)


def test_learning_is_deterministic(columns: list[AccountColumns], learned: Model) -> None:
    shuffled = list(columns)
    random.Random(5).shuffle(shuffled)
    again = learn(shuffled, threads=2)
    assert again.as_json() == learned.as_json()
    assert Model.from_json(learned.as_json()) == learned


def test_guards_hold_on_the_learned_model(learned: Model) -> None:
    by_name = {c.name: c for c in COMPARISONS}
    for name, label in RULES:  # the rules link outright: their levels keep the priors
        comparison = by_name[name]
        index = next(i for i, lv in enumerate(comparison.levels) if lv.label == label)
        assert learned.m_u(comparison, index) == (
            comparison.levels[index].m,
            comparison.levels[index].u,
        )
    for comparison in COMPARISONS:
        weights = [
            round(learned.weight_bits(comparison, i), 9) for i in range(len(comparison.levels))
        ]
        assert len(set(weights)) == len(weights), comparison.name  # linkage names levels by weight
        for index, level in enumerate(comparison.levels):
            m, u = learned.m_u(comparison, index)
            assert 0 < u <= 1 and m >= (1.0 if level.null else M_FLOOR)
            # more cautious than the priors, never bolder
            assert learned.weight_bits(comparison, index) <= level.weight_bits + 1e-12
    # a telling coincidence is not learned from random pairs that are mostly one person's
    alias = by_name["alias"]
    rare = next(
        i
        for i, lv in enumerate(alias.levels)
        if lv.label.startswith("same distinctive handle, rare")
    )
    assert learned.m_u(alias, rare)[1] == alias.levels[rare].u
    assert learned.weight_bits(alias, rare) > 15


def test_python_face_agrees_with_splink_under_the_learned_model(
    columns: list[AccountColumns], learned: Model
) -> None:
    by_id = {c.unique_id: c for c in columns}
    linkage = Linkage(threads=1, model=learned)
    try:
        run = linkage.score_all(columns, 0.0)
    finally:
        linkage.close()
    assert run.compared_pairs == len(run.pairs) > 500
    for scored in run.pairs:
        a, b = by_id[scored.a], by_id[scored.b]
        verdict = score(compare(a, b), a, b, learned)
        assert verdict.probability == pytest.approx(scored.probability, rel=1e-9, abs=1e-12)
        assert verdict.rule == scored.rule


def test_em_that_does_not_converge_keeps_the_priors(
    columns: list[AccountColumns], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(learning, "EM_MAX_ITERATIONS", 1)
    with caplog.at_level(logging.WARNING, logger="vigil.identity.learning"):
        model = learn(columns, threads=1)
    assert sum("did not converge in 1 iterations; priors kept" in n for n in model.notes) == 2
    assert "did not converge" in caplog.text
    assert _levels(model, "learned m") == []
    for comparison in COMPARISONS:
        for index, level in enumerate(comparison.levels):
            assert model.m_u(comparison, index)[0] == level.m


def test_too_few_accounts_keep_the_priors() -> None:
    profiles, _truth = people()
    outcome = resolve(profiles, Constraints(), threads=1)
    assert outcome.model.parameters == PRIORS.parameters
    assert "fewer than" in outcome.model.notes[0]


def test_a_resolution_applies_the_model_it_is_given(columns: list[AccountColumns]) -> None:
    profiles, _truth = generate(300)
    learned_here = resolve(profiles, Constraints(), threads=1)
    assert learned_here.model.parameters != PRIORS.parameters
    given = resolve(profiles, Constraints(), threads=1, model=PRIORS)
    assert given.model is PRIORS


def test_a_full_run_records_its_model_and_an_incremental_run_applies_it(
    sqlite_store: Store,
) -> None:
    profiles, _truth = generate(300)
    add_profiles(sqlite_store, profiles[:250], "first")
    first = resolve_store(sqlite_store, admin_actor(sqlite_store))
    with sqlite_store.reading() as session:
        recorded = audit.last_details(session, "resolve.run")
    model = Model.from_json(recorded["model"])
    assert first.mode == "full" and model is not None
    assert model.parameters != PRIORS.parameters
    assert any("converged" in note for note in model.notes)
    add_profiles(sqlite_store, profiles[250:], "second")
    second = resolve_store(sqlite_store, admin_actor(sqlite_store))
    with sqlite_store.reading() as session:
        again = audit.last_details(session, "resolve.run")
    assert second.mode == "incremental" and second.rescored_accounts < 100
    assert again["model"] == recorded["model"]  # learned once, applied again
    by_name = {c.name: c for c in COMPARISONS}
    items = review_links(sqlite_store, limit=None)
    assert items
    for item in items:  # the queue weighs evidence with the recorded model
        for e in item["evidence"]:
            comparison = by_name[e["comparison"]]
            index = next(i for i, lv in enumerate(comparison.levels) if lv.label == e["level"])
            assert e["weight_bits"] == round(model.weight_bits(comparison, index), 3)
    third = resolve_store(sqlite_store, admin_actor(sqlite_store), full=True)
    with sqlite_store.reading() as session:
        relearned = Model.from_json(audit.last_details(session, "resolve.run")["model"])
    assert third.mode == "full" and relearned is not None
    assert relearned.parameters != model.parameters  # learned afresh from 300 accounts


def test_a_store_without_a_recorded_model_is_resolved_in_full(sqlite_store: Store) -> None:
    profiles, _truth = generate(150)
    add_profiles(sqlite_store, profiles)
    resolve_store(sqlite_store, admin_actor(sqlite_store))
    with sqlite_store.transaction() as session:  # as an older version wrote it: no model
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "resolve.run")).one()
        details = json.loads(entry.details)
        details.pop("model")
        entry.details = json.dumps(details)
    assert resolve_store(sqlite_store, admin_actor(sqlite_store)).mode == "full"
