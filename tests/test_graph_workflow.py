"""`vigil network rank|path|export` on a store written the way ingest and resolve write it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import igraph as ig
import networkx as nx

from tests.cli_runner import run_cli
from tests.network_store_fixture import populate
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Subject

RANK_KEYS = [
    "subject_id",
    "label",
    "score",
    "degree",
    "betweenness",
    "community",
    "files_distributed",
    "recipients",
]


def test_rank_lists_subjects_by_priority_and_stores_it(store: Store) -> None:
    ids = populate(store)
    result = run_cli("network", "rank", "--json")
    assert result.exit_code == 0, result.stderr
    ranking = json.loads(result.stdout)
    assert list(ranking[0])[:8] == RANK_KEYS
    assert {"pagerank", "kcore", "reasons"} <= set(ranking[0])
    names = {v: k for k, v in ids.subjects.items()}
    assert [names[r["subject_id"]] for r in ranking] == [
        "admin",
        "distributor",
        "producer",
        "collector-de",
        "collector-x",
    ]
    admin = ranking[0]
    # 9 DMs (3 files to 3 people) and 2 DCC offers in #lobby; 4 recipients.
    assert (admin["files_distributed"], admin["recipients"]) == (11, 4)
    assert admin["reasons"][0] == "runs NightNet #lobby operator: 35 of 35 points"
    producer = next(r for r in ranking if r["subject_id"] == ids.subjects["producer"])
    assert producer["new_files"] == 2  # both series files, on its device
    assert ids.subjects["victim"] not in [r["subject_id"] for r in ranking]
    top = json.loads(run_cli("network", "rank", "--json", "--top", "2").stdout)
    assert [r["subject_id"] for r in top] == [r["subject_id"] for r in ranking[:2]]
    with store.reading() as session:
        stored = {s.id: s.priority for s in session.query(Subject)}
        assert stored[ids.subjects["admin"]] == admin["score"]
        assert stored[ids.subjects["victim"]] is None
        entry = session.query(AuditEntry).filter_by(action="network.rank").first()
        assert json.loads(entry.details)["subjects"] == 5
    table = run_cli("network", "rank", "--top", "1")
    assert "Son_of_god" not in table.stdout and "admin" in table.stdout


def test_path_shows_the_chain_of_evidence(store: Store) -> None:
    populate(store)
    result = run_cli("network", "path", "producer", "collector-de", "--json")
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert [s["label"] for s in steps] == [
        "producer",
        "Parley/lens_man",
        "Parley/Son_of_god",
        "admin",
        "NightNet/s0n_0f_g0d",
        "NightNet/quiet_one",
        "collector-de",
    ]
    assert steps[1]["evidence"] == "received 3 files from [2006-03-14]"
    text = run_cli("network", "path", "s0n_0f_g0d", "lurker")
    assert text.exit_code == 0 and "sent" in text.stdout
    missing = run_cli("network", "path", "admin", "nobody")
    assert missing.exit_code == 2 and "no subject 'nobody'" in missing.stderr


def test_exports(store: Store, tmp_path: Path) -> None:
    ids = populate(store)
    run_cli("countries")
    for fmt, name in (("graphml", "g.graphml"), ("gexf", "g.gexf"), ("i2", "i2")):
        result = run_cli("network", "export", "--format", fmt, "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.stderr
    graph = ig.Graph.Read_GraphML(str(tmp_path / "g.graphml"))
    subjects = [v for v in graph.vs if v["kind"] == "subject"]
    assert len(subjects) == 6
    admin = next(v for v in subjects if v["label"] == "admin")
    assert admin["country"] == "CA" and admin["score"] > 50
    gexf = nx.read_gexf(tmp_path / "g.gexf")
    assert gexf.number_of_nodes() == graph.vcount()
    with (tmp_path / "i2" / "entities.csv").open() as handle:
        entities = {row["Entity ID"]: row for row in csv.DictReader(handle)}
    assert entities[f"subject:{ids.subjects['admin']}"]["Country"] == "CA"
    bad = run_cli("network", "export", "--format", "dot", "-o", str(tmp_path / "x"))
    assert bad.exit_code == 2 and "unknown format" in bad.stderr
