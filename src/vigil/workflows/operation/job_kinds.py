"""What each kind of job runs: the same workflow function as the CLI command, same JSON.

``run_job`` gets the job's arguments as stored (plain JSON) and a ``report`` callback for
progress; it returns the result the job row keeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.store.db import Actor, Store
from vigil.workflows.media.triage import DEFAULT_BATCH_FILES, TriageProbes

Report = Callable[[dict[str, Any]], None]


def _triage(
    store: Store, actor: Actor, args: dict[str, Any], report: Report, probes: TriageProbes | None
) -> dict[str, Any]:
    from vigil.workflows.media.triage import triage

    totals = {"files": 0, "bytes": 0}

    def advance(files: int, size_bytes: int) -> None:
        totals["files"] += files
        totals["bytes"] += size_bytes
        report(dict(totals))

    result = triage(
        store,
        actor,
        Path(args["path"]),
        args["case"],
        jobs=int(args.get("jobs", 1)),
        batch_files=int(args.get("batch_files") or DEFAULT_BATCH_FILES),
        progress=advance,
        owner=args.get("owner"),
        probes=probes,
    )
    return {
        **result.summary.as_dict(),
        "source_id": result.source_id,
        "resumed": result.resumed,
        "skipped_files": result.skipped_files,
        "refused": [f"{r.path}: {r.reason}" for r in result.refusals[:100]],
    }


def _ingest(
    store: Store, actor: Actor, args: dict[str, Any], report: Report, _probes: object
) -> dict[str, Any]:
    from vigil.formats.source_records import ParseOptions
    from vigil.workflows.sources.ingest import ingest, ingest_json

    def advance(done: int, total: int, name: str) -> None:
        report({"documents": done, "of": total, "current": name})

    options = ParseOptions(platform=args.get("platform"), tz=args.get("tz"))
    summary = ingest(store, actor, args["format"], args["path"], args["case"], options, advance)
    return ingest_json(summary)


def _hashset(
    store: Store, actor: Actor, args: dict[str, Any], report: Report, _probes: object
) -> dict[str, Any]:
    from vigil.workflows.media.hashsets import import_hash_set

    result = import_hash_set(
        store,
        actor,
        args["format"],
        Path(args["path"]),
        name=args["name"],
        kind=args.get("kind"),
        pdq_radius_bits=args.get("pdq_radius"),
        hash_type=args.get("hash_type"),
        progress=lambda done: report({"entries": done}),
    )
    return dataclasses.asdict(result)


def _resolve(
    store: Store, actor: Actor, args: dict[str, Any], _report: Report, _probes: object
) -> dict[str, Any]:
    from vigil.workflows.identity.resolve import resolve

    return dataclasses.asdict(resolve(store, actor, full=bool(args.get("full", False))))


def _countries(
    store: Store, actor: Actor, _args: dict[str, Any], _report: Report, _probes: object
) -> dict[str, Any]:
    """`vigil countries --json`: each subject's country and the evidence it rests on."""
    from vigil.workflows.network.countries import assign_countries

    summary = assign_countries(store, actor)
    return {
        "by_country": summary.by_country,
        "decisions": [dataclasses.asdict(d) for d in summary.decisions],
    }


def _refer(
    store: Store, actor: Actor, args: dict[str, Any], _report: Report, _probes: object
) -> dict[str, Any]:
    """`vigil refer`; with ``send``, `vigil refer --send`: each package queued for the peer
    serving its country and delivered now if that peer answers (it waits in the outbox if
    not). The referrals are listed as they stand after sending."""
    from vigil.workflows.federation.exchange import check_sendable, send_referrals
    from vigil.workflows.operation.accounts import check_country
    from vigil.workflows.referral.refer import list_referrals, refer, referral_json

    country, send = check_country(args.get("country")), bool(args.get("send"))
    if send:
        check_sendable(store, actor, country)
    referrals = refer(store, actor, Path(args["out_dir"]), country=country, sending=send)
    if not send:
        return {"referrals": [referral_json(r) for r in referrals]}
    ids = [r.id for r in referrals]
    delivery = _with_transport(lambda transport: send_referrals(store, actor, transport, ids))
    sent = [r for r in list_referrals(store, actor.agency_id) if r.id in ids]
    return {"referrals": [referral_json(r) for r in sent], "delivery": delivery}


def _deliver(
    store: Store, actor: Actor, _args: dict[str, Any], _report: Report, _probes: object
) -> dict[str, Any]:
    """`vigil federation sync`: every message waiting in the agency's outbox, tried once."""
    from vigil.workflows.federation.exchange import deliver_pending

    return _with_transport(lambda transport: deliver_pending(store, actor, transport))


def _with_transport(send: Callable[[Any], Any]) -> dict[str, Any]:
    """What ``send`` delivered through a fresh HTTP transport, closed after, as plain data."""
    from vigil.federation.transport import HttpTransport

    transport = HttpTransport()
    try:
        return dataclasses.asdict(send(transport))
    finally:
        transport.close()


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "triage": _triage,
    "ingest": _ingest,
    "hashset": _hashset,
    "resolve": _resolve,
    "countries": _countries,
    "refer": _refer,
    "deliver": _deliver,
}


def run_job(
    store: Store,
    actor: Actor,
    kind: str,
    args: dict[str, Any],
    report: Report,
    probes: TriageProbes | None = None,
    hashing_processes: int = 1,
) -> dict[str, Any]:
    """Run one job. A triage that names no number of hashing processes gets the runner's:
    the server keeps to one, so that requests are still answered while it hashes, where a
    `vigil worker` has the machine to itself."""
    if kind == "triage":
        args = {"jobs": hashing_processes, **args}
    return RUNNERS[kind](store, actor, args, report, probes)
