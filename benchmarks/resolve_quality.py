"""Linking quality on synthetic operations, per seed and scale: what docs/benchmarks.md records.

For each seed the operation is generated, every source in ``truth["sources"]`` is ingested
into a fresh SQLite store (kept under ``--work`` so a second run skips both), and a full
``vigil resolve`` runs. Pairwise precision and recall over accounts, plus every false friend
and every victim checked, are printed per seed. Tuning seeds and held-out seeds are separate
arguments so the figures that are reported never come from the seeds the model was tuned on.

    PYTHONPATH=. .venv/bin/python -m benchmarks.resolve_quality --scale small --seeds 101 102
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from vigil.store.db import Store
from vigil.synth.generate import generate
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import list_subjects
from vigil.workflows.operation.setup import find_actor, init_store, open_case
from vigil.workflows.sources.ingest import ingest_listed


def _key(platform: str, username: str) -> tuple[str, str]:
    return (platform.casefold(), username.casefold())


def prepared_store(seed: int, scale: str, work: Path) -> tuple[Store, dict[str, Any]]:
    """The operation ingested into a SQLite store, built once per (seed, scale) under work."""
    folder = work / f"{scale}-{seed}"
    operation, db = folder / "op", folder / "vigil.db"
    ready = folder / "ingested"
    if not ready.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        generate(operation, seed=seed, scale=scale)
        store = Store(f"sqlite:///{db}")
        init_store(store, "BENCH", admin_password="bench-password")
        actor = find_actor(store, "admin")
        open_case(store, actor, "OP")
        truth = json.loads((operation / "truth.json").read_text())
        ingest_listed(store, actor, operation, truth["sources"], "OP")
        store.dispose()
        ready.touch()
    truth = json.loads((operation / "truth.json").read_text())
    return Store(f"sqlite:///{db}"), truth


def assignments(truth: dict[str, Any], store: Store) -> tuple[dict, dict]:
    """Account -> person (from truth) and account -> subject (from the store)."""
    person_of = {
        _key(a["platform"], a["username"]): p["id"] for p in truth["persons"] for a in p["accounts"]
    }
    subject_of = {
        _key(a["platform"], a["username"]): s["id"]
        for s in list_subjects(store)
        for a in s["accounts"]
    }
    return person_of, subject_of


def pairwise(person_of: dict, subject_of: dict) -> tuple[float, float, int, int, int]:
    def pairs(groups: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    true_pos = pairs(Counter((subject_of[a], person_of[a]) for a in person_of))
    predicted = pairs(Counter(subject_of[a] for a in person_of))
    actual = pairs(Counter(person_of.values()))
    precision = true_pos / predicted if predicted else 1.0
    recall = true_pos / actual if actual else 1.0
    return precision, recall, true_pos, predicted - true_pos, actual - true_pos


def violations(truth: dict[str, Any], subject_of: dict) -> list[str]:
    """False friends merged, and victims put with anyone else."""
    accounts = {
        p["id"]: [_key(a["platform"], a["username"]) for a in p["accounts"]]
        for p in truth["persons"]
    }
    found = []
    for friend in truth["false_friends"]:
        for first, second in itertools.combinations(friend["persons"], 2):
            if {subject_of[a] for a in accounts[first]} & {subject_of[a] for a in accounts[second]}:
                found.append(f"false friend merged: {friend['kind']} {friend['value']}")
    victims = {a for p in truth["persons"] if p["role"] == "victim" for a in accounts[p["id"]]}
    for victim in victims:
        if any(s == subject_of[victim] and a not in victims for a, s in subject_of.items()):
            found.append(f"victim merged with a suspect: {victim}")
    return found


def evaluate(seed: int, scale: str, work: Path, engine: str = "duckdb") -> dict[str, Any]:
    store, truth = prepared_store(seed, scale, work)
    started = time.perf_counter()
    resolve(store, find_actor(store, "admin"), full=True, engine=engine)
    seconds = time.perf_counter() - started
    person_of, subject_of = assignments(truth, store)
    store.dispose()
    precision, recall, tp, fp, fn = pairwise(person_of, subject_of)
    return {
        "seed": seed,
        "scale": scale,
        "persons": len(truth["persons"]),
        "accounts": len(person_of),
        "precision": precision,
        "recall": recall,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "violations": violations(truth, subject_of),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/data/resolve-quality"))
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load: {load}", flush=True)
    for seed in args.seeds:
        r = evaluate(seed, args.scale, args.work, args.engine)
        print(
            f"seed {r['seed']} {r['scale']} ({r['persons']} persons, {r['accounts']} accounts): "
            f"precision {r['precision']:.4f} recall {r['recall']:.4f} "
            f"(tp {r['tp']} fp {r['fp']} fn {r['fn']}), {len(r['violations'])} violations, "
            f"resolve {r['seconds']:.1f} s",
            flush=True,
        )
        for line in r["violations"]:
            print(f"  {line}", flush=True)


if __name__ == "__main__":
    main()
