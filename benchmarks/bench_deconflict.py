"""Deconfliction between nodes on loopback: the price of privacy.

One querier holds N email selectors; two peers hold N each, a tenth of them shared with the
querier. Each peer runs as its own process (`vigil federation serve`), with its own SQLite
database, as a real node would. The candidate is ``deconflict`` against both peers: fetch and
verify each signed set, blind, have each peer evaluate in batches (VOPRF, proofs checked),
unblind, confirm the hits. The anchor, in the same run on the same selectors, is what a
shared-key scheme costs: HMAC-SHA256 of every selector under each peer's key and a lookup in
that peer's HMAC set (no network; the peers' sets are precomputed, as the OPRF sets are cached
after the first run). Medians of repeated runs.

    .venv/bin/python -m benchmarks.bench_deconflict --selectors 10000
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from benchmarks.common import measure, report
from vigil.federation.transport import HttpTransport
from vigil.store.db import Actor, Store
from vigil.store.models import Selector, Sighting, Source
from vigil.workflows.federation.deconflict import deconflict
from vigil.workflows.federation.node import add_peer, identity, init_node
from vigil.workflows.operation.setup import find_actor, init_store, open_case

CASE = "BENCH"
NODES = {"QR-BENCH": 1.0, "P1-BENCH": 1.9, "P2-BENCH": 0.1}
"""Agency -> where its selectors start, in units of N: each peer shares a tenth with QR."""


def _email(i: int) -> str:
    return f"member{i:07d}@bench.example"


def _load(store: Store, actor: Actor, start: int, count: int) -> None:
    with store.transaction() as session:
        source = Source(
            kind="bench",
            original_name="bench",
            sha256="0" * 64,
            size_bytes=0,
            agency_id=actor.agency_id,
            user_id=actor.user_id,
        )
        session.add(source)
        session.flush()
        rows = [
            {"kind": "email", "platform": "", "value": _email(i), "display": _email(i)}
            for i in range(start, start + count)
        ]
        session.execute(insert(Selector), rows)
        ids = (
            session.execute(
                Selector.__table__.select().with_only_columns(Selector.id)  # type: ignore[attr-defined]
            )
            .scalars()
            .all()
        )
        session.execute(
            insert(Sighting),
            [{"selector_id": i, "source_id": source.id, "agency_id": actor.agency_id} for i in ids],
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    vigil = Path(sys.executable).parent / "vigil"
    return subprocess.Popen(
        [str(vigil), "--db", f"sqlite:///{db}", "federation", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(url: str, code: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/federation/v1/agencies/{code}/identity").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"node {code} at {url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selectors", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    count = args.selectors
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-deconflict-"))
    stores: dict[str, Store] = {}
    actors: dict[str, Actor] = {}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for code, offset in NODES.items():
            (root / code).mkdir()
            store = Store(f"sqlite:///{root / code / 'vigil.db'}")
            init_store(store, code, code, None)
            actor = find_actor(store, f"{code}/admin")
            open_case(store, actor, CASE)
            _load(store, actor, int(offset * count), count)
            stores[code], actors[code] = store, actor
        urls = {}
        for code in list(NODES)[1:]:
            port = _free_port()
            urls[code] = f"http://127.0.0.1:{port}"
            init_node(stores[code], actors[code], root / code / "keys", url=urls[code])
        init_node(stores["QR-BENCH"], actors["QR-BENCH"], root / "QR-BENCH" / "keys")
        querier = identity(stores["QR-BENCH"], actors["QR-BENCH"])
        for code, url in urls.items():
            found = identity(stores[code], actors[code])
            add_peer(
                stores["QR-BENCH"],
                actors["QR-BENCH"],
                code,
                url,
                found.public_key,
                selectors_per_hour=10 * count * args.repeats,
            )
            add_peer(
                stores[code],
                actors[code],
                "QR-BENCH",
                "http://127.0.0.1:1",
                querier.public_key,
                selectors_per_hour=10 * count * args.repeats,
            )
            servers.append(_serve(root / code / "vigil.db", int(url.rsplit(":", 1)[1])))
        for code, url in urls.items():
            _wait_ready(url, code)
        transport = HttpTransport(timeout_seconds=300)
        expected = 2 * int(0.1 * count)

        def private() -> None:
            hits = deconflict(stores["QR-BENCH"], actors["QR-BENCH"], transport, purpose="bench")
            assert len(hits) == expected, (len(hits), expected)

        mine = [f"email:{_email(i)}".encode() for i in range(count, 2 * count)]
        keys = {code: os.urandom(32) for code in urls}
        peer_sets = {
            code: {
                hmac.new(keys[code], f"email:{_email(i)}".encode(), hashlib.sha256).digest()
                for i in range(int(NODES[code] * count), int(NODES[code] * count) + count)
            }
            for code in urls
        }

        def keyed() -> None:
            found = 0
            for code in urls:
                held = peer_sets[code]
                found += sum(hmac.new(keys[code], m, hashlib.sha256).digest() in held for m in mine)
            assert found == expected, (found, expected)

        units = 2 * count
        load = os.getloadavg()
        candidate = measure(
            "VOPRF deconflict, 2 peers",
            private,
            units=units,
            unit_name="selector lookups",
            repeats=args.repeats,
        )
        anchor = measure(
            "HMAC lookups, 2 peers",
            keyed,
            units=units,
            unit_name="selector lookups",
            repeats=args.repeats,
        )
        report(
            f"Deconfliction: {count:,} selectors against two peers on loopback", candidate, anchor
        )
        print(
            f"price of privacy: {candidate.median_seconds / anchor.median_seconds:,.0f}x "
            "the time of the HMAC lookups"
        )
        print(
            f"wall time for {count:,} selectors against two peers: "
            f"{candidate.median_seconds:.1f} s (goal: under 10 s); "
            f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        for store in stores.values():
            store.dispose()


if __name__ == "__main__":
    main()
