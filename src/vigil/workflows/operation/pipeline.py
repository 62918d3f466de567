"""The whole pipeline over one synthetic operation, in the order the story runs.

Hash sets, the seized devices, every document, then identity resolution, which places the
subjects in countries and ranks them. The order is the story's, not a requirement: a hash set
imported last still matches the files already in the store. The operation folder's
``truth.json`` says which files are which; nothing here reads the truth itself (persons,
roles), only the manifest of what to import, triage and ingest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import BadInput
from vigil.store.db import Actor, Store
from vigil.workflows.identity.resolve import ResolveResult, resolve
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.media.triage import TriageResult, triage
from vigil.workflows.network.rank import NetworkResult, rank_network
from vigil.workflows.sources.ingest import ingest_listed

StepCallback = Callable[[str], None]


@dataclass
class OperationResult:
    hash_sets: int = 0
    hash_entries: int = 0
    triaged: list[tuple[str, TriageResult]] = field(default_factory=list)
    ingested_sources: int = 0
    dirty_values: int = 0
    """Values kept verbatim on their records, each a warning: real evidence is dirty."""
    resolved: ResolveResult | None = None
    network: NetworkResult | None = None


def read_manifest(operation_dir: Path) -> dict[str, Any]:
    truth_path = operation_dir / "truth.json"
    try:
        manifest = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"not a synthetic operation folder: {exc}", source=str(truth_path)) from exc
    for key in ("hashsets", "devices", "sources"):
        if not isinstance(manifest.get(key), list):
            raise BadInput(f"truth.json has no {key!r} list", source=str(truth_path))
    return manifest


def run_operation(
    store: Store,
    actor: Actor,
    operation_dir: Path,
    case_reference: str,
    *,
    jobs: int = 1,
    step: StepCallback | None = None,
) -> OperationResult:
    """Import, triage, ingest, resolve, place and rank everything in ``operation_dir``."""
    manifest = read_manifest(operation_dir)
    result = OperationResult()
    announce = step or (lambda _name: None)

    for spec in manifest["hashsets"]:
        announce(f"hash set {spec['name']}")
        imported = import_hash_set(
            store,
            actor,
            spec["format"],
            operation_dir / spec["path"],
            name=spec["name"],
            kind=spec.get("kind"),
        )
        result.hash_sets += 1
        result.hash_entries += imported.entries

    for device in manifest["devices"]:
        announce(f"triage {device['id']}")
        seized_from = device.get("seized_from")
        owner = f"{seized_from['platform']}:{seized_from['username']}" if seized_from else None
        triaged = triage(
            store, actor, operation_dir / device["path"], case_reference, jobs=jobs, owner=owner
        )
        result.triaged.append((device["id"], triaged))

    ingested = ingest_listed(
        store, actor, operation_dir, manifest["sources"], case_reference, step=announce
    )
    result.ingested_sources = len(ingested)
    result.dirty_values = sum(summary.totals()["dirty_values"] for summary in ingested)

    announce("resolve identities (which places subjects in countries and ranks them)")
    result.resolved = resolve(store, actor)
    result.network = rank_network(store, actor, write=False)  # the stored ranking, for the summary
    return result
