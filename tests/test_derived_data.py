"""Derived data follows its inputs (docs/architecture.md, "Derived data").

- the command-line contract in order, in a fresh store: countries right after ``resolve``,
  referrals right after ``refer``, nothing in between;
- a hash set imported after triage and ingest matches the files already in the store, and
  importing it again changes nothing; any order of import, ingest and triage gives the same
  matches (hypothesis);
- a rejected link, once re-resolved, leaves every subject with the country and priority a
  fresh recompute gives (nothing stale);
- a command whose input does not exist yet says on stderr what to run first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.synth_cache import synth_operation
from vigil.geo.countries import decide_countries
from vigil.store.db import Store
from vigil.store.models import File, FileInstance, HashEntry, HashSet, Match, Subject
from vigil.workflows.identity.decisions import decide_link
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import list_subjects
from vigil.workflows.media.hashsets import ImportResult, import_hash_set
from vigil.workflows.media.triage import triage
from vigil.workflows.network.countries import gather_country_evidence
from vigil.workflows.network.rank import current_ranking
from vigil.workflows.operation.pipeline import read_manifest, run_operation
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest_listed

CASE = "OP-LIVE"


@pytest.fixture(autouse=True)
def _index_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_INDEX_DIR", str(tmp_path / "index-cache"))
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")


def fresh_store(path: Path) -> Store:
    store = Store(f"sqlite:///{path}")
    init_store(store, "LIVE", "Living picture unit", "CA")
    open_case(store, admin_actor(store), CASE)
    return store


def import_hash_sets(
    store: Store, operation: Path, specs: list[dict[str, Any]]
) -> list[ImportResult]:
    return [
        import_hash_set(
            store,
            admin_actor(store),
            spec["format"],
            operation / spec["path"],
            name=spec["name"],
            kind=spec["kind"],
        )
        for spec in specs
    ]


def stored_matches(store: Store) -> set[tuple[Any, ...]]:
    """Matches by content, not row ids, so two stores can be compared."""
    with store.reading() as session:
        rows = session.execute(
            select(
                File.sha256,
                File.md5,
                HashSet.name,
                HashEntry.md5,
                HashEntry.sha1,
                HashEntry.pdq,
                Match.kind,
                Match.distance_bits,
            )
            .join(File, File.id == Match.file_id)
            .join(HashEntry, HashEntry.id == Match.hash_entry_id)
            .join(HashSet, HashSet.id == Match.hash_set_id)
        ).all()
    return {tuple(row) for row in rows}


def test_the_contract_in_order_needs_no_other_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operation = synth_operation(1)
    manifest = read_manifest(operation)
    monkeypatch.setenv("VIGIL_DB", f"sqlite:///{tmp_path / 'vigil.db'}")

    def ok(*args: str) -> str:
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout

    ok("init", "--agency", "LIVE", "--country", "CA")
    ok("case", "open", CASE)
    for spec in manifest["hashsets"]:
        ok(
            "hashset", "import", spec["format"], str(operation / spec["path"]),
            "--name", spec["name"], "--kind", spec["kind"],
        )  # fmt: skip
    for entry in manifest["sources"]:
        platform = ["--platform", entry["platform"]] if entry.get("platform") else []
        ok("ingest", entry["format"], str(operation / entry["path"]), "--case", CASE, *platform)
    for device in manifest["devices"]:
        ok("triage", str(operation / device["path"]), "--case", CASE)
    ok("resolve")
    subjects = json.loads(ok("subjects", "--json"))
    suspects = [s for s in subjects if s["role"] == "suspect"]
    assert len(suspects) >= 30
    assert all(s["country_basis_kind"] for s in subjects)
    placed = [s for s in suspects if s["country"]]
    assert len(placed) >= 0.9 * len(suspects)
    assert all(len(s["country"]) == 2 for s in placed)
    assert all(s["priority"] is not None for s in suspects)
    ranked = json.loads(ok("network", "rank", "--json"))
    assert ranked[0]["subject_id"] in {s["id"] for s in suspects}

    ok("refer", "--all", "-o", str(tmp_path / "referrals"))
    referrals = json.loads(ok("referrals", "--json"))
    assert {r["country"] for r in referrals} == {s["country"] for s in placed}
    assert sorted(i for r in referrals for i in r["subjects"]) == sorted(s["id"] for s in placed)
    by_id = {s["id"]: s for s in suspects}
    for referral in referrals:
        manifest_json = json.loads((Path(referral["package"]) / "manifest.json").read_text())
        priorities = [s["priority"] for s in manifest_json["subjects"]]
        # refer and the stored priorities are one ranking: same scores, highest first
        assert priorities == sorted(priorities, reverse=True)
        assert priorities == [by_id[s["id"]]["priority"] for s in manifest_json["subjects"]]


def test_a_hash_set_imported_after_triage_and_ingest_matches_what_is_there(
    tmp_path: Path,
) -> None:
    operation = synth_operation(1)
    manifest = read_manifest(operation)
    device = manifest["devices"][0]
    store = fresh_store(tmp_path / "late.db")
    triage(store, admin_actor(store), operation / device["path"], CASE)
    ingest_listed(store, admin_actor(store), operation, manifest["sources"], CASE)
    assert stored_matches(store) == set()
    imported = import_hash_sets(store, operation, manifest["hashsets"])
    assert not any(i.unchanged for i in imported)
    late = stored_matches(store)
    # The device's counts, read back, are what the truth expects of it.
    again = triage(store, admin_actor(store), operation / device["path"], CASE).summary.as_dict()
    for key in ("known_alert_files", "known_ignorable_files", "near_match_files"):
        assert again[key] == device["expected"][key], key
    # Files named only by provider reports and chat logs match too, not only triaged ones.
    with store.reading() as session:
        matched_without_instance = session.scalar(
            select(func.count(func.distinct(Match.file_id))).where(
                Match.file_id.not_in(select(FileInstance.file_id))
            )
        )
    assert matched_without_instance
    with store.reading() as session:
        rows_before = session.scalar(select(func.count()).select_from(Match))
    imported = import_hash_sets(store, operation, manifest["hashsets"])
    assert all(i.unchanged for i in imported)
    assert stored_matches(store) == late
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Match)) == rows_before
    store.dispose()


STEPS = ("hash sets", "ingest", "triage")


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.permutations(STEPS))
def test_any_order_of_import_ingest_and_triage_gives_the_same_matches(
    order: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    operation = synth_operation(1)
    manifest = read_manifest(operation)
    device = manifest["devices"][1]
    sources = [s for s in manifest["sources"] if s["format"] in ("cybertip", "chat-jsonl")]
    root = tmp_path_factory.mktemp("order")
    store = fresh_store(root / "vigil.db")

    def run(step: str) -> None:
        if step == "hash sets":
            import_hash_sets(store, operation, manifest["hashsets"][:2])
        elif step == "ingest":
            ingest_listed(store, admin_actor(store), operation, sources, CASE)
        else:
            triage(store, admin_actor(store), operation / device["path"], CASE)

    for step in order:
        run(step)
    found = stored_matches(store)
    store.dispose()
    expected = _reference_matches(tmp_path_factory)
    assert found == expected
    assert found  # the comparison is about something


_REFERENCE: list[set[tuple[Any, ...]]] = []


def _reference_matches(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[Any, ...]]:
    """Hash sets, then triage, then ingest: the order the pipeline runs (computed once)."""
    if not _REFERENCE:
        operation = synth_operation(1)
        manifest = read_manifest(operation)
        store = fresh_store(tmp_path_factory.mktemp("reference") / "vigil.db")
        import_hash_sets(store, operation, manifest["hashsets"][:2])
        triage(store, admin_actor(store), operation / manifest["devices"][1]["path"], CASE)
        sources = [s for s in manifest["sources"] if s["format"] in ("cybertip", "chat-jsonl")]
        ingest_listed(store, admin_actor(store), operation, sources, CASE)
        _REFERENCE.append(stored_matches(store))
        store.dispose()
    return _REFERENCE[0]


def assert_nothing_stale(store: Store) -> None:
    """Every subject's stored country, basis kind and priority equal a fresh recompute."""
    with store.reading() as session:
        decisions = {d.subject_id: d for d in decide_countries(gather_country_evidence(session))}
        scores = {r.subject_id: r.score for r in current_ranking(session).ranking}
        for subject in session.scalars(select(Subject).where(Subject.status != "merged")):
            decision = decisions[subject.id]
            assert (subject.country, subject.country_basis_kind) == (
                decision.country,
                decision.basis_kind,
            ), subject.label
            if subject.role != "victim":
                assert subject.priority == scores[subject.id], subject.label


def test_a_rejected_link_re_resolves_into_placed_and_ranked_subjects(tmp_path: Path) -> None:
    operation = synth_operation(1)
    store = fresh_store(tmp_path / "vigil.db")
    run_operation(store, admin_actor(store), operation, CASE)
    assert_nothing_stale(store)
    subjects = list_subjects(store)
    joined = next(
        s
        for s in sorted(subjects, key=lambda s: -(s["priority"] or 0))
        if s["role"] == "suspect" and len(s["accounts"]) >= 2 and s["country"]
    )
    first, second = (f"{a['platform']}:{a['username']}" for a in joined["accounts"][:2])
    decision = decide_link(
        store, admin_actor(store), first, second, "reject", "two people after all"
    )
    assert decision.changed
    resolve(store, admin_actor(store))
    after = list_subjects(store)
    holding = {f"{a['platform']}:{a['username']}": s for s in after for a in s["accounts"]}
    assert holding[first]["id"] != holding[second]["id"]
    for subject in (holding[first], holding[second]):
        assert subject["country_basis_kind"] is not None
        assert subject["priority"] is not None
    assert any(s["country"] for s in (holding[first], holding[second]))
    assert_nothing_stale(store)
    store.dispose()


def test_commands_whose_input_does_not_exist_yet_say_what_to_run_first(
    store: Store, tmp_path: Path
) -> None:
    for command in (("network", "rank", "--json"), ("subjects", "--json"), ("countries",)):
        result = run_cli(*command)
        assert result.exit_code == 0, result.stderr
        assert "nothing ingested yet: run `vigil ingest" in result.stderr
    assert json.loads(run_cli("subjects", "--json").stdout) == []
    refused = run_cli("refer", "--all", "-o", str(tmp_path / "out"))
    assert refused.exit_code == 2
    assert "no subjects yet: run `vigil ingest`" in refused.stderr
