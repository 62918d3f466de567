"""The network engine on a hand-made operation whose roles are known by construction."""

from __future__ import annotations

import csv
from pathlib import Path

import igraph as ig
import networkx as nx
import pytest

from tests.graph_fixture import fixture_network
from vigil.graph import rank as rank_module
from vigil.graph.build import tally_subjects
from vigil.graph.evidence import build_evidence_graph, evidence_path
from vigil.graph.export import export_graph
from vigil.graph.model import AccountInfo, Interaction, NetworkInput, SubjectInfo
from vigil.graph.rank import WEIGHTS, rank
from vigil.store.extras import SightingExtra


def test_admin_then_distributors_then_producer_lead_the_ranking() -> None:
    result = rank(fixture_network())
    order = [r.subject_id for r in result.ranking]
    assert order[0] == 1
    assert set(order[1:3]) == {2, 3}
    assert order[3] == 10
    assert 11 not in order  # the victim is never ranked
    assert len(order) == 10


def test_distribution_figures_follow_contract_b() -> None:
    by_id = {r.subject_id: r for r in rank(fixture_network()).ranking}
    admin, distributor, producer = by_id[1], by_id[2], by_id[10]
    # 10 forum attachments + 10 DCC offers, 10 distinct files, 9 IRC recipients.
    assert (admin.files_distributed, admin.distinct_files_distributed) == (20, 10)
    assert admin.recipients == 9
    assert admin.alert_files == 20  # 10 sent, and 20 held on a device
    # Five files to six collectors by DM, plus one series file passed on.
    assert (distributor.files_distributed, distributor.recipients) == (31, 6)
    assert distributor.new_files == 0  # it passed on a series file but was not first
    assert (producer.files_distributed, producer.new_files, producer.contact_indicators) == (
        3,
        3,
        1,
    )


def test_a_dm_to_several_people_is_one_send() -> None:
    data = NetworkInput(
        subjects=[SubjectInfo(1, "a"), SubjectInfo(2, "b"), SubjectInfo(3, "c")],
        accounts=[
            AccountInfo(10, "chat", "a", 1),
            AccountInfo(20, "chat", "b", 2),
            AccountInfo(30, "chat", "c", 3),
        ],
        interactions=[
            Interaction("file_transfer", 10, (20,), None, 5, is_send=True, send_key="m1"),
            Interaction("file_transfer", 10, (30,), None, 5, is_send=True, send_key="m1"),
            Interaction("file_transfer", 10, (30,), None, None, is_send=True, send_key="m2"),
            Interaction("message", 10, (30,), None, None),
        ],
    )
    tally = tally_subjects(data)[1]
    assert tally.files_sent == 2  # m1 once, and m2 whose source named no hash
    assert tally.distinct_files == {5}
    assert tally.recipients == {20, 30}


def test_scores_are_sums_of_explained_terms() -> None:
    for item in rank(fixture_network()).ranking:
        assert item.score == pytest.approx(sum(t.points for t in item.terms), abs=0.05)
        assert {t.name for t in item.terms} == set(WEIGHTS)
        assert 0 <= item.score <= sum(WEIGHTS.values())
        for term in item.terms:
            assert term.points <= WEIGHTS[term.name]
        assert item.reasons
    admin = rank(fixture_network()).ranking[0]
    assert admin.reasons[0] == "runs forum founder, irc #r operator: 35 of 35 points"
    assert admin.reasons[1].startswith("sent 20 files (10 distinct)")
    assert any("PageRank" in reason for reason in admin.reasons)


def test_network_measures() -> None:
    by_id = {r.subject_id: r for r in rank(fixture_network()).ranking}
    # The admin reaches every other suspect (DCC in the room, messages from collectors)
    # and the stranger whose account belongs to no subject.
    assert by_id[1].degree == 10
    assert by_id[1].betweenness == max(r.betweenness for r in by_id.values())
    assert by_id[1].pagerank == max(r.pagerank for r in by_id.values())
    assert all(r.kcore >= 1 for r in by_id.values())
    result = rank(fixture_network())
    assert sum(c.size for c in result.communities) == 10
    assert result.communities[0].id == 0
    assert rank(fixture_network()) == result  # same evidence, same answer


def test_betweenness_is_sampled_on_large_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rank_module, "EXACT_BETWEENNESS_MAX_NODES", 5)
    monkeypatch.setattr(rank_module, "BETWEENNESS_SAMPLE_SOURCES", 6)
    result = rank(fixture_network())
    assert result.betweenness_sampled
    assert result.ranking[0].subject_id == 1


def test_evidence_path_reads_as_a_chain() -> None:
    evidence = build_evidence_graph(fixture_network())
    steps = evidence_path(evidence, 10, 5)
    assert steps[0].node == "subject:10"
    assert steps[-1].node == "subject:5"
    assert steps[-1].evidence is None
    assert all(step.evidence for step in steps[:-1])
    # Strong evidence first: the producer's files reached the distributor, who sent to 5.
    kinds = [step.kind for step in steps]
    assert "room" not in kinds and "file" not in kinds
    assert any("files" in (step.evidence or "") for step in steps)
    assert evidence_path(evidence, 4, 4)[0].node == "subject:4"


def test_exports_round_trip(tmp_path: Path) -> None:
    evidence = build_evidence_graph(fixture_network(), {1: {"score": 99.0, "community": 0}})
    graph = evidence.graph
    export_graph(graph, "graphml", tmp_path / "g.graphml")
    back = ig.Graph.Read_GraphML(str(tmp_path / "g.graphml"))
    assert (back.vcount(), back.ecount()) == (graph.vcount(), graph.ecount())
    assert set(back.vs["kind"]) == {"subject", "account", "room", "file"}
    export_graph(graph, "gexf", tmp_path / "g.gexf")
    gexf = nx.read_gexf(tmp_path / "g.gexf")
    assert gexf.number_of_nodes() == graph.vcount()
    assert gexf.nodes["subject:1"]["score"] == 99.0
    written = export_graph(graph, "i2", tmp_path / "i2")
    assert [p.name for p in written] == ["entities.csv", "links.csv"]
    with written[0].open() as handle:
        entities = list(csv.DictReader(handle))
    with written[1].open() as handle:
        links = list(csv.DictReader(handle))
    assert len(entities) == graph.vcount() and len(links) == graph.ecount()
    ids = {row["Entity ID"] for row in entities}
    assert all(row["From ID"] in ids and row["To ID"] in ids for row in links)
    assert {row["Entity Type"] for row in entities} == {"Person", "Account", "Location", "Document"}
    transfer = next(row for row in links if row["Link Type"] == "sent_files")
    assert transfer["Description"].startswith("sent ")


@pytest.mark.parametrize(
    ("extra", "role"),
    [
        ({"platform_role": "Founder"}, "founder"),
        ({"platform_role": "admin"}, "administrator"),
        ({"platform_role": "member"}, None),
        ({"user_type": 3}, "founder"),
        ({"group_id": "5"}, "administrator"),
        ({"group_id": 2, "user_type": 0}, None),
        ({"mode": "+o"}, "operator"),
        ({"modes": "@"}, "operator"),
        ({"modes": "+v"}, None),
        ({}, None),
    ],
)
def test_venue_roles_read_from_account_sightings(
    extra: dict[str, object], role: str | None
) -> None:
    assert SightingExtra.of(extra).venue_role == role


def test_running_a_venue_lifts_a_small_sender_above_bigger_ones() -> None:
    data = fixture_network()
    data.platform_roles = {10: ["forum founder"]}
    order = [r.subject_id for r in rank(data).ranking]
    assert order.index(10) < order.index(3)


def test_huge_rooms_add_no_copresence_ties(monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.graph import build

    data = NetworkInput(
        subjects=[SubjectInfo(i, f"s{i}") for i in range(1, 5)],
        accounts=[AccountInfo(10 * i, "irc", f"n{i}", i) for i in range(1, 5)],
        interactions=[Interaction("message", 10 * i, (), "irc/#big") for i in range(1, 5)],
    )
    assert build.build_subject_graph(data).undirected.ecount() == 6  # the 4-member clique
    monkeypatch.setattr(build, "MAX_COPRESENCE_ROOM_MEMBERS", 3)
    assert build.build_subject_graph(data).undirected.ecount() == 0
