"""Triage against ground truth: every summary count equals truth.json, for three seeds.

The synthetic operation's seized-device folders carry known, near, ignorable, unknown and
series images, videos, a nested zip, a wrong extension and a truncated JPEG; ``truth.json``
holds each device's expected counts, computed independently of Vigil's engines.
"""

from __future__ import annotations

import json

import pytest

from tests.actors import admin_actor
from tests.synth_cache import synth_operation
from vigil.triage.summary import SUMMARY_KEYS
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.media.triage import triage


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_device_count_equals_truth(sqlite_store, seed):
    out = synth_operation(seed)  # shared, read-only: triage only reads evidence
    truth = json.loads((out / "truth.json").read_text())
    for hashset in truth["hashsets"]:
        import_hash_set(
            sqlite_store,
            admin_actor(sqlite_store),
            hashset["format"],
            out / hashset["path"],
            name=hashset["name"],
            kind=hashset["kind"],
        )
    assert truth["devices"], "the operation has seized devices"

    for device in truth["devices"]:
        result = triage(
            sqlite_store, admin_actor(sqlite_store), out / device["path"], "CASE-1", jobs=1
        )
        counts = result.summary.as_dict()
        assert list(counts) == list(SUMMARY_KEYS)
        counts.pop("seconds")
        assert counts == device["expected"], device["id"]
