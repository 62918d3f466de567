"""`vigil resolve` and `vigil subjects` over a store: contract, explanations, analyst
decisions that survive re-runs, incremental runs, stable subject ids."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.identity_data import ip
from tests.resolve_store import add_people, add_profiles
from vigil.identity.profiles import AccountProfile
from vigil.store.db import Store
from vigil.store.models import AuditEntry, LinkDecision
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import list_subjects

ADMIN = {
    ("Lantern Board", "Son_of_god"),
    ("NightNet", "s0n_0f_g0d"),
    ("Parley", "SonOfGod77"),
    ("PicNook", "sog_reports"),
}


def _groups(store: Store) -> dict[frozenset[tuple[str, str]], int]:
    return {
        frozenset((a["platform"], a["username"]) for a in s["accounts"]): s["id"]
        for s in list_subjects(store)
    }


def _subjects_json() -> list[dict]:
    result = run_cli("subjects", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_resolve_writes_subjects_per_contract(store: Store) -> None:
    add_people(store)
    result = run_cli("resolve")
    assert result.exit_code == 0, result.stderr
    assert "full resolve" in result.stdout
    subjects = _subjects_json()
    keys = {"id", "label", "role", "country", "priority", "accounts", "selectors", "links"}
    assert all(keys <= set(s) for s in subjects)
    admin = next(
        s for s in subjects if {(a["platform"], a["username"]) for a in s["accounts"]} == ADMIN
    )
    assert admin["role"] == "suspect"
    assert {"kind": "email", "value": "sonofgod@mailbox.example"} in admin["selectors"]
    assert {"kind": "phone", "value": "+15555550100"} in admin["selectors"]
    victim = next(s for s in subjects if s["accounts"][0]["username"] == "sonofgod")
    assert victim["role"] == "victim" and len(victim["accounts"]) == 1
    assert len(subjects) == 9  # 13 accounts: the admin (4), the distributor (2), 7 alone


def test_subjects_json_explains_every_link(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    resolve(sqlite_store, admin_actor(sqlite_store))
    for subject in _subjects_json():
        names = {
            f"{a['platform'].casefold()}:{a['username'].casefold()}" for a in subject["accounts"]
        }
        assert len(subject["links"]) == len(subject["accounts"]) - 1
        linked = set()
        for link in subject["links"]:
            assert {link["a"], link["b"]} <= names
            assert 0.99 <= link["probability"] <= 1.0
            assert link["reasons"] and all(isinstance(r, str) and r for r in link["reasons"])
            assert link["decided_by"] == "model"
            linked |= {link["a"], link["b"]}
        if len(names) > 1:
            assert linked == names  # the links span the whole subject
    admin_links = next(s["links"] for s in _subjects_json() if len(s["accounts"]) == 4)
    text = json.dumps(admin_links)
    assert "same email sonofgod@mailbox.example" in text
    assert "shared IP within 24 h" in text


def test_rerun_gives_the_same_subject_ids(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    resolve(sqlite_store, admin_actor(sqlite_store))
    first = _groups(sqlite_store)
    again = resolve(sqlite_store, admin_actor(sqlite_store), full=True)
    assert again.created == 0 and again.retired == 0
    assert _groups(sqlite_store) == first


def test_analyst_decisions_survive_a_full_rerun(store: Store) -> None:
    add_people(store)
    resolve(store, admin_actor(store))
    assert (
        run_cli("link", "reject", "Lantern Board:Son_of_god", "NightNet:s0n_0f_g0d").exit_code == 0
    )
    assert run_cli("link", "reject", "lantern board:son_of_god", "parley:sonofgod77").exit_code == 0
    assert run_cli("link", "confirm", "Parley:john123", "Murmur:John_123").exit_code == 0
    for full in (True, False, True):
        resolve(store, admin_actor(store), full=full)
        groups = _groups(store)
        together = {acct for g in groups for acct in g if len(g) > 1}
        son = next(g for g in groups if ("Lantern Board", "Son_of_god") in g)
        assert ("NightNet", "s0n_0f_g0d") not in son and ("Parley", "SonOfGod77") not in son
        assert frozenset({("Parley", "john123"), ("Murmur", "John_123")}) in groups
        assert ("NightNet", "s0n_0f_g0d") in together  # still linked to its other account
    john = next(
        s
        for s in _subjects_json()
        if len(s["accounts"]) == 2 and s["accounts"][0]["username"].lower().startswith("john")
    )
    assert john["links"][0]["decided_by"] == "analyst"
    assert "confirmed by analyst admin" in john["links"][0]["reasons"][0]
    with store.reading() as session:
        decisions = session.scalars(select(LinkDecision)).all()
        actions = session.scalars(select(AuditEntry.action)).all()
    assert {d.decision for d in decisions} == {"reject", "confirm"}
    assert all(d.user_id is not None and d.decided_at is not None for d in decisions)
    assert actions.count("link.reject") == 2 and actions.count("link.confirm") == 1
    assert "resolve.run" in actions


def test_split_and_merge_are_kept_by_later_resolves(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    resolve(sqlite_store, admin_actor(sqlite_store))
    admin_id = _groups(sqlite_store)[frozenset(ADMIN)]
    result = run_cli("subject", "split", str(admin_id), "Parley:SonOfGod77", "PicNook:sog_reports")
    assert result.exit_code == 0, result.stderr
    groups = _groups(sqlite_store)
    moved = frozenset({("Parley", "SonOfGod77"), ("PicNook", "sog_reports")})
    assert moved in groups
    resolve(sqlite_store, admin_actor(sqlite_store), full=True)
    groups = _groups(sqlite_store)
    assert moved in groups
    assert frozenset({("Lantern Board", "Son_of_god"), ("NightNet", "s0n_0f_g0d")}) in groups
    first, second = (
        groups[moved],
        groups[frozenset({("Lantern Board", "Son_of_god"), ("NightNet", "s0n_0f_g0d")})],
    )
    assert run_cli("subject", "merge", str(second), str(first)).exit_code == 0
    resolve(sqlite_store, admin_actor(sqlite_store))
    resolve(sqlite_store, admin_actor(sqlite_store), full=True)
    assert frozenset(ADMIN) in _groups(sqlite_store)


def test_incremental_resolve_compares_only_new_accounts(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    first = resolve(sqlite_store, admin_actor(sqlite_store))
    assert first.mode == "full"
    before = _groups(sqlite_store)
    newcomers = [
        AccountProfile(
            101,
            "Murmur",
            "son-of-god",
            ips=(ip("81.2.69.10", 6),),
            emails=frozenset({"sonofgod@mailbox.example"}),
        ),
        AccountProfile(102, "Murmur", "pine_echo_55", ips=(ip("203.0.113.9", 3),)),
    ]
    add_profiles(sqlite_store, newcomers, "second batch")
    second = resolve(sqlite_store, admin_actor(sqlite_store))
    assert second.mode == "incremental"
    assert second.rescored_accounts == 2
    full = resolve(sqlite_store, admin_actor(sqlite_store), full=True)
    assert 0 < second.compared_pairs < full.compared_pairs
    groups = _groups(sqlite_store)
    admin = next(g for g in groups if ("Lantern Board", "Son_of_god") in g)
    assert admin == frozenset(ADMIN | {("Murmur", "son-of-god")})
    assert groups[admin] == before[frozenset(ADMIN)]  # the subject kept its id
    nothing_new = resolve(sqlite_store, admin_actor(sqlite_store))
    assert nothing_new.rescored_accounts == 0 and nothing_new.compared_pairs == 0


def test_bad_account_names_are_one_line_errors(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    result = run_cli("link", "confirm", "no-colon", "Parley:john123")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    result = run_cli("link", "reject", "Parley:nobody", "Parley:john123")
    assert result.exit_code == 2 and "no account" in result.stderr
    result = run_cli("subject", "split", "999", "Parley:john123")
    assert result.exit_code == 2


def test_subjects_table_for_people(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    assert run_cli("resolve", "--json").exit_code == 0
    result = run_cli("subjects")
    assert result.exit_code == 0, result.stderr
    assert "Subjects" in result.stdout
    assert "suspect" in result.stdout and "victim" in result.stdout


def test_incremental_resolve_rescores_accounts_with_new_evidence(sqlite_store: Store) -> None:
    add_people(sqlite_store)
    resolve(sqlite_store, admin_actor(sqlite_store))
    shared = frozenset({"same.person@mailbox.example"})
    add_profiles(
        sqlite_store,
        [
            AccountProfile(7, "Parley", "john123", emails=shared),
            AccountProfile(8, "Murmur", "John_123", emails=shared),
        ],
        "provider report naming both",
    )
    again = resolve(sqlite_store, admin_actor(sqlite_store))
    assert again.mode == "incremental" and again.rescored_accounts == 2
    assert frozenset({("Parley", "john123"), ("Murmur", "John_123")}) in _groups(sqlite_store)
    assert resolve(sqlite_store, admin_actor(sqlite_store)).rescored_accounts == 0
