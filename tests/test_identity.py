"""The identity engine on plain data: aliases, evidence, the model's two faces, clustering."""

from __future__ import annotations

import itertools
import os
import tempfile

import pytest

from tests.identity_data import ip, people
from vigil.identity.account_table import AccountTable
from vigil.identity.aliases import fold_alias
from vigil.identity.clusters import Cluster, Constraints, Link, cluster
from vigil.identity.features import (
    AccountColumns,
    Counts,
    Population,
    account_columns,
    compare,
    email_form,
)
from vigil.identity.linkage import Linkage
from vigil.identity.model import COMPARISONS, score
from vigil.identity.profiles import AccountProfile, parse_account_key
from vigil.identity.reasons import reasons
from vigil.identity.resolution import resolve
from vigil.identity.scoring import SubjectIndex
from vigil.machine import memory_here


@pytest.mark.parametrize(
    ("written", "stem", "suffix"),
    [
        ("Son_of_god", "sonofgod", ""),
        ("son.of.god", "sonofgod", ""),
        ("s0n_0f_g0d", "sonofgod", ""),
        ("SonOfGod77", "sonofgod", "77"),
        ("N1ght0wl_1987", "nightowl", "1987"),
        ("3ch042", "echo", "42"),
        ("12345", "12345", ""),
    ],
)
def test_alias_folding(written: str, stem: str, suffix: str) -> None:
    form = fold_alias(written)
    assert (form.stem, form.suffix) == (stem, suffix)


def test_leet_ambiguity_keeps_both_readings() -> None:
    assert "wolf|42" in set(fold_alias("w0lf42").tokens) & set(fold_alias("wolf_42").tokens)
    assert set(fold_alias("3ch0").stems) & set(fold_alias("echo").stems) == {"echo"}


def test_email_forms_are_provider_aware() -> None:
    assert email_form("Sog.Admin+board@googlemail.com") == "sogadmin@gmail.com"
    assert email_form("sog.admin+x@mailbox.example") == "sog.admin@mailbox.example"


def test_account_key_splits_at_first_colon() -> None:
    assert parse_account_key("Lantern Board:Son_of_god") == ("Lantern Board", "Son_of_god")
    assert parse_account_key("irc:nick:with:colons") == ("irc", "nick:with:colons")
    with pytest.raises(ValueError):
        parse_account_key("no-platform")


def _columns(profiles: list[AccountProfile]) -> dict[int, AccountColumns]:
    population = Population.of(profiles)
    return {p.account_id: account_columns(p, population) for p in profiles}


def test_shared_ips_count_by_time_apart_and_proxies_not_at_all() -> None:
    addresses = ("81.2.69.1", "81.2.69.2", "81.2.69.3", "81.2.69.4")
    a = AccountProfile(1, "x", "aaa", ips=tuple(ip(address, 0) for address in addresses))
    hours_apart = (23, 49, 24 * 20, 24 * 40)
    b = AccountProfile(
        2, "y", "bbb", ips=tuple(ip(x, h) for x, h in zip(addresses, hours_apart, strict=True))
    )
    c = AccountProfile(3, "z", "ccc", ips=(ip("81.2.69.1", 1, proxy=True),))
    cols = _columns([a, b, c])
    evidence = compare(cols[1], cols[2])
    assert evidence.close_ips == ("81.2.69.1",)
    assert evidence.week_ips == ("81.2.69.2",)
    assert evidence.month_ips == ("81.2.69.3",)
    assert evidence.distant_ips == ("81.2.69.4",)
    assert compare(cols[1], cols[3]).close_ips == ()
    level = score(evidence, cols[1], cols[2]).levels["ip"]
    assert COMPARISONS[-2].levels[level].label == "one rare IP within 24 h"


def test_crowded_ip_counts_as_weak() -> None:
    crowd = [
        AccountProfile(i, "x", f"user{i}abc", ips=(ip("100.64.1.1", i),)) for i in range(1, 12)
    ]
    cols = _columns(crowd)
    evidence = compare(cols[1], cols[2])
    assert evidence.close_ips == () and evidence.crowded_close_ips == ("100.64.1.1",)
    assert "i:100.64.1.1" not in cols[1].block_keys


def test_counts_keep_what_the_thresholds_need() -> None:
    counts = Counts()
    for values in ({"a", "b"}, {"a"}, {"a", "c"}):
        counts.update(values)
    counts.settle()
    assert (counts["a"], counts["b"], counts["c"]) == (3, 1, 1)
    counts.update({"b"})  # an account added after counting counts once settled again
    counts.settle()
    assert (counts["a"], counts["b"]) == (3, 2)
    # a value no account carries counts as one: below every threshold, like the account's own
    assert counts["nowhere"] == 1


def test_account_table_gives_back_the_columns_it_was_built_from() -> None:
    profiles, _truth = people()
    cols = _columns(profiles)
    shuffled = sorted(cols.values(), key=lambda c: -c.unique_id)
    table = AccountTable.of(shuffled)
    assert list(table) == sorted(cols)  # in id order, whatever order it was built in
    assert len(table) == len(cols) and all(table[i] == cols[i] for i in cols)
    some = sorted(cols)[:3]
    assert table.rows([*some, 10_000]) == {i: cols[i] for i in some}
    assert 10_000 not in table and some[0] in table
    with pytest.raises(KeyError):
        table[10_000]
    mask = table.ids % 2 == 0
    assert list(table.where(mask)) == [i for i in sorted(cols) if i % 2 == 0]


def test_duckdb_gets_half_the_memory_and_spills_to_the_temp_dir() -> None:
    """DuckDB would take 80% of the machine and spill into the user's working directory."""
    linkage = Linkage(threads=1)
    try:
        settings = dict(
            linkage._rows(
                "select name, value from duckdb_settings() "
                "where name in ('memory_limit', 'temp_directory')"
            )
        )
    finally:
        linkage.close()
    assert settings["temp_directory"] == os.path.join(tempfile.gettempdir(), "vigil-duckdb")
    number, unit = str(settings["memory_limit"]).split()
    limit = float(number) * {"MiB": 2**20, "GiB": 2**30}[unit]
    total = memory_here()
    assert total is not None and limit == pytest.approx(total / 2, rel=0.01)


def test_splink_and_python_scores_agree() -> None:
    profiles, _truth = people()
    cols = _columns(profiles)
    linkage = Linkage(threads=1)
    try:
        run = linkage.score_all(list(cols.values()), 0.0)
    finally:
        linkage.close()
    assert run.compared_pairs == len(run.pairs) > 10
    for scored in run.pairs:
        verdict = score(compare(cols[scored.a], cols[scored.b]), cols[scored.a], cols[scored.b])
        assert verdict.probability == pytest.approx(scored.probability, rel=1e-9, abs=1e-12)
        assert verdict.rule == scored.rule


def test_levels_have_distinct_weights() -> None:
    # linkage names levels by splink's per-comparison weight, so no two may share one
    for comparison in COMPARISONS:
        weights = [round(level.weight_bits, 9) for level in comparison.levels]
        assert len(set(weights)) == len(weights), comparison.name


def test_resolution_links_people_and_keeps_false_friends_apart() -> None:
    profiles, truth = people()
    outcome = resolve(profiles, Constraints(victims=frozenset({15})), threads=1)
    found = {frozenset(c.members) for c in outcome.clusters}
    assert frozenset({1, 2, 3, 4}) in found
    assert frozenset({5, 6}) in found
    assert frozenset({13, 14}) in found
    for a, b in itertools.combinations(range(1, 16), 2):
        together = any(a in c and b in c for c in found)
        if together:
            assert truth[a] == truth[b], (a, b)
    assert frozenset({15}) in found  # the victim stays alone


def test_every_link_has_reasons_in_words_and_numbers() -> None:
    profiles, _truth = people()
    outcome = resolve(profiles, Constraints(), threads=1)
    admin = next(c for c in outcome.clusters if 1 in c.members)
    assert len(admin.links) == len(admin.members) - 1
    text = " | ".join(r for link in admin.links for r in link.reasons)
    assert "same email sonofgod@mailbox.example" in text
    assert "alias similarity 1.00" in text
    assert "shared IP" in text


def test_cannot_link_and_must_link_are_obeyed() -> None:
    links = [Link(1, 2, 0.999, ("x",)), Link(2, 3, 0.995, ("y",)), Link(3, 4, 0.5, ("z",))]
    constraints = Constraints(
        must_link=frozenset({(4, 5)}), cannot_link=frozenset({(1, 3)}), victims=frozenset({6})
    )
    found = [c.members for c in cluster(range(1, 7), links, constraints, 0.99)]
    assert found == [[1, 2], [3], [4, 5], [6]]
    # a victim is not joined to a suspect even by a confirmed link
    constraints = Constraints(must_link=frozenset({(5, 6)}), victims=frozenset({6}))
    found = [c.members for c in cluster(range(1, 7), [], constraints, 0.99)]
    assert [6] in found


def test_incremental_scores_only_new_accounts() -> None:
    profiles, _truth = people()
    old, new = profiles[:12], profiles[12:]
    first = resolve(old, Constraints(), threads=1)
    full = resolve(profiles, Constraints(), threads=1)
    again = resolve(profiles, Constraints(), first.clusters, incremental=True, threads=1)
    assert again.rescored_accounts == len(new)
    assert 0 < again.compared_pairs < full.compared_pairs
    assert sorted(c.members for c in again.clusters) == sorted(c.members for c in full.clusters)


def test_reasons_name_the_aliases() -> None:
    profiles, _truth = people()
    cols = _columns(profiles)
    words = reasons(compare(cols[5], cols[6]), cols[5], cols[6])
    assert any("night_owl_1987~N1ght0wl1987" in w for w in words)


def test_fixed_groups_that_an_analyst_contradicts_are_rescored() -> None:
    profiles, _truth = people()
    previous = [
        Cluster([1, 2, 3, 4], [Link(1, 2, 1.0, ()), Link(2, 3, 1.0, ()), Link(1, 4, 1.0, ())])
    ]
    constraints = Constraints(cannot_link=frozenset({(1, 3)}))
    outcome = resolve(profiles, constraints, previous, incremental=True, threads=1)
    assert not any(1 in c.members and 3 in c.members for c in outcome.clusters)


def test_one_new_account_is_scored_against_existing_subjects() -> None:
    profiles, _truth = people()
    outcome = resolve(profiles, Constraints(victims=frozenset({15})), threads=1)
    subject_of = {m: i for i, c in enumerate(outcome.clusters) for m in c.members}
    population = Population.of(profiles)
    index = SubjectIndex((account_columns(p, population) for p in profiles), subject_of, population)
    newcomer = AccountProfile(
        99, "Murmur", "son.of.god", emails=frozenset({"sonofgod@mailbox.example"})
    )
    matches = index.score_account(newcomer)
    assert matches[0].subject_id == subject_of[1]
    assert matches[0].probability == 1.0
    assert any("same email" in r for r in matches[0].reasons)
    stranger = AccountProfile(100, "Murmur", "zzqx_unrelated")
    assert index.score_account(stranger) == []
