"""Resolve synthetic operations and measure against truth.json.

For held-out seeds at ``small`` scale (and one at ``seed`` scale, marked slow), every source
in ``truth["sources"]`` is ingested exactly as listed, then ``vigil resolve`` runs. Pairwise
precision and recall are counted over accounts: a pair is predicted when both accounts land
in one subject, true when truth gives both to one person. Every false friend (CGNAT address,
common alias, family computer) must stay apart and no victim may share a subject with anyone.
The operations include the hard case of ``vigil.synth.hard_cases`` (accounts linked only by
an alias core and a home address weeks apart). The model was tuned on seeds 1-5 (small),
11 (seed) and 21 (large); the seeds here were never looked at while tuning (docs/benchmarks.md
has every seed's figures).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from benchmarks.resolve_quality import assignments, pairwise, violations

from tests.actors import admin_actor
from tests.synth_cache import synth_operation
from vigil.formats.source_records import ParseOptions
from vigil.store.db import Store
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest

MIN_PRECISION = 0.99
MIN_RECALL = 0.95
HELD_OUT_SMALL_SEEDS = (101, 102, 103)


def resolved(seed: int, scale: str, root: Path) -> tuple[dict[str, Any], dict, dict]:
    """Ingest the operation, resolve it; truth, account -> person, account -> subject."""
    operation = synth_operation(seed, scale)
    truth = json.loads((operation / "truth.json").read_text())
    os.environ.setdefault("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(f"sqlite:///{root / 'vigil.db'}")
    init_store(store, "TEST")
    open_case(store, admin_actor(store), "OP")
    for source in truth["sources"]:
        ingest(
            store,
            admin_actor(store),
            source["format"],
            str(operation / source["path"]),
            "OP",
            ParseOptions(platform=source["platform"]),
        )
    resolve(store, admin_actor(store))
    person_of, subject_of = assignments(truth, store)
    store.dispose()
    return truth, person_of, subject_of


def check(seed: int, scale: str, root: Path) -> None:
    truth, person_of, subject_of = resolved(seed, scale, root)
    assert set(person_of) <= set(subject_of), "every account in truth is in a subject"
    precision, recall, tp, fp, fn = pairwise(person_of, subject_of)
    print(
        f"seed {seed} {scale}: precision {precision:.4f} recall {recall:.4f} "
        f"(tp {tp} fp {fp} fn {fn})"
    )
    assert precision >= MIN_PRECISION, (precision, fp)
    assert recall >= MIN_RECALL, (recall, fn)
    assert violations(truth, subject_of) == []


@pytest.mark.parametrize("seed", HELD_OUT_SMALL_SEEDS)
def test_small_operations_meet_the_quality_bar(seed: int, tmp_path: Path) -> None:
    check(seed, "small", tmp_path)


@pytest.mark.slow
def test_seed_scale_operation_meets_the_quality_bar(tmp_path: Path) -> None:
    check(111, "seed", tmp_path)
