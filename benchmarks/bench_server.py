"""`vigil serve` under 50 concurrent users on loopback, on PostgreSQL with the demo loaded.

    .venv/bin/python -m benchmarks.bench_server [--scale seed|small] [--users 50]
                                                [--seconds 20] [--db-url URL]

A synthetic operation (seed 1) goes through the whole pipeline into a fresh PostgreSQL schema;
then a real ``vigil serve`` process answers on 127.0.0.1 while ``--users`` concurrent clients
(asyncio + httpx, each with its own bearer token) loop for ``--seconds`` over what an analyst
reads most: the subject list and the ranking (a page of 50, as a screen shows them), one
subject and one file. The anchor is the same
clients on ``/api/health`` of the same server in the same run: everything but the work.
Goals (issue 13): p99 under 250 ms and at least a quarter of the anchor's requests/s.
The load generator shares the machine with the server; `uptime` is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from tests.server_support import free_port

from vigil.store.db import Store
from vigil.synth.generate import generate
from vigil.workflows.operation.accounts import add_user, authenticate
from vigil.workflows.operation.credentials import issue_token
from vigil.workflows.operation.pipeline import run_operation
from vigil.workflows.operation.setup import find_actor, init_store, open_case

PG_URL = os.environ.get("VIGIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark password"


def load_operation(url: str, scale: str, root: Path) -> Store:
    operation = root / "operation"
    generate(operation, seed=1, scale=scale)
    store = Store(url)
    init_store(store, "BENCH", "Benchmark unit", "CA", admin_password=PASSWORD)
    admin = find_actor(store, "BENCH/admin")
    open_case(store, admin, "OP-BENCH", "benchmark")
    started = time.perf_counter()
    run_operation(store, admin, operation, "OP-BENCH", jobs=os.cpu_count() or 1)
    print(f"loaded the {scale} operation in {time.perf_counter() - started:.0f} s", flush=True)
    add_user(store, admin, "reader", "analyst", PASSWORD)
    return store


def tokens(store: Store, count: int) -> list[str]:
    reader = authenticate(store, "BENCH", "reader", PASSWORD)
    return [issue_token(store, reader, f"bench-{n}", 1).token for n in range(count)]


async def run_users(
    base: str, paths: list[str], user_tokens: list[str], seconds: float
) -> tuple[int, list[float], float]:
    """Every user loops over ``paths`` until time is up; returns count, latencies, elapsed."""
    latencies: list[float] = []
    errors = 0
    # uvicorn closes a connection idle for 5 s; drop ours first, or a reused one can be
    # closed under the request (a ReadError that says nothing about the server's speed).
    limits = httpx.Limits(max_connections=len(user_tokens), keepalive_expiry=3)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def user(token: str, offset: int) -> None:
            nonlocal errors
            headers = {"Authorization": f"Bearer {token}"}
            step = offset
            while time.perf_counter() < deadline:
                path = paths[step % len(paths)]
                step += 1
                sent = time.perf_counter()
                response = await client.get(path, headers=headers)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(user(t, n) for n, t in enumerate(user_tokens)))
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{errors} requests failed")
    return len(latencies), latencies, elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def describe(label: str, count: int, latencies: list[float], elapsed: float) -> float:
    rate = count / elapsed
    print(
        f"{label:10} {rate:8.1f} requests/s   p50 {statistics.median(latencies) * 1000:7.1f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   ({count} requests)",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="seed", choices=["small", "seed"])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--db-url", default=PG_URL)
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.db_url}{'&' if '?' in args.db_url else '?'}options=-csearch_path%3D{schema}"
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-server-") as folder:
            store = load_operation(url, args.scale, Path(folder))
            user_tokens = tokens(store, args.users)
            with store.reading() as session:
                subject_ids = [
                    row[0]
                    for row in session.execute(
                        text("select id from subject where status != 'merged'")
                    )
                ]
                file_sha = session.execute(
                    text("select sha256 from file where sha256 is not null limit 1")
                ).scalar_one()
            store.dispose()
            chosen = random.Random(1).sample(subject_ids, min(20, len(subject_ids)))
            work = ["/api/subjects?limit=50", "/api/network/rank?top=50", f"/api/files/{file_sha}"]
            work += [f"/api/subjects/{n}" for n in chosen[:1]]
            port = free_port()
            log = Path(folder) / "server.log"
            server = subprocess.Popen(
                [sys.executable, "-m", "vigil", "--db", url, "serve", "--port", str(port),
                 "--no-jobs", "--upload-dir", folder],
                stderr=log.open("w"), text=True,
            )  # fmt: skip
            while "serving" not in log.read_text():  # the banner comes once it listens
                if server.poll() is not None:
                    raise SystemExit(log.read_text())
                time.sleep(0.5)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(run_users(base, work, user_tokens[:2], 3))  # warm the caches
            anchor = asyncio.run(run_users(base, ["/api/health"], user_tokens, args.seconds))
            reads = asyncio.run(run_users(base, work, user_tokens, args.seconds))
            print(f"## Server: {args.users} users, {args.scale}-scale operation on PostgreSQL")
            print(
                f"machine: {platform.machine()} {os.cpu_count()} cpus, "
                f"Python {platform.python_version()}; load: {os.getloadavg()}"
            )
            print(f"subjects: {len(subject_ids)}; reads cycle over {', '.join(work)}")
            anchor_rate = describe("anchor", *anchor)
            read_rate = describe("reads", *reads)
            print(f"ratio      {read_rate / anchor_rate:.2f}x the anchor's requests/s")
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
