"""Every web page at seed scale: median time per page, against the app's trivial endpoint.

The seed-scale demo (about 700 suspects) is made once under benchmarks/data/ (or given with
``--db``); a supervisor and an admin are added, and every page is requested in-process
(Starlette's test client, so the figures are the server's own work, not the network's).
Each page is asked for once to warm the caches (the ranking is computed once per change of
the evidence), then ``--repeats`` times; the median is reported with the ratio to
``/api/health`` (the anchor: the same app doing nothing) and against the 300 ms goal.

    .venv/bin/python -m benchmarks.bench_web [--db sqlite:///path/vigil.db] [--repeats 15]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from vigil.errors import UsageError
from vigil.server import ServerSettings, create_app
from vigil.store.db import Store
from vigil.store.models import File, FileInstance, Match, Subject
from vigil.workflows.operation.accounts import add_user
from vigil.workflows.operation.demo import run_demo
from vigil.workflows.operation.setup import find_actor

DATA = Path(__file__).parent / "data" / "web-demo"
PASSWORD = "benchmark password"
GOAL_MS = 300.0


def _store(url: str | None) -> Store:
    if url:
        return Store(url)
    database = DATA / "vigil.db"
    if not database.exists():
        run_demo(DATA, scale="seed")
    return Store(f"sqlite:///{database}")


def _users(store: Store) -> None:
    admin = find_actor(store, "DEMO/admin")  # the demo's admin password is random
    for name, role in (("bench-supervisor", "supervisor"), ("bench-admin", "admin")):
        with contextlib.suppress(UsageError):  # already there from an earlier run
            add_user(store, admin, name, role, PASSWORD)


def _pages(store: Store) -> list[str]:
    with store.reading() as session:
        subject = session.scalars(select(Subject.id).order_by(Subject.priority.desc())).first()
        sha = session.scalars(
            select(File.sha256)
            .where(File.id.in_(select(FileInstance.file_id)))
            .where(File.id.in_(select(Match.file_id)))
        ).first()
    return [
        "/",
        "/cases",
        "/cases/OP-DEMO",
        "/files",
        "/files?category=new",
        f"/files/{sha}",
        "/series",
        "/subjects",
        "/subjects?sort=label&page=7",
        f"/subjects/{subject}",
        "/links/review",
        "/links/review?page=3",
        "/api/links/review",
        "/network",
        "/network/graph.json",
        f"/network?a={subject}&b=2",
        "/referrals",
        "/audit",
        "/welfare",
        "/me/exposure",
    ]


def _median_ms(client: TestClient, path: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times)


def _signed_in(app: object, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    response = client.post(
        "/login",
        data={"agency": "DEMO", "username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    store = _store(args.db)
    _users(store)
    app = create_app(store, ServerSettings(login_delay_seconds=0.0))
    supervisor = _signed_in(app, "bench-supervisor")
    admin = _signed_in(app, "bench-admin")
    with store.reading() as session:
        subjects = session.scalar(select(Subject.id).order_by(Subject.id.desc()))
    print(f"## Web pages at seed scale (subjects up to id {subjects}; load {os.getloadavg()})")
    anchor = _median_ms(supervisor, "/api/health", args.repeats)
    print(f"anchor    /api/health: {anchor:.1f} ms (median of {args.repeats})")
    worst = 0.0
    for client, paths in ((supervisor, _pages(store)), (admin, ["/admin"])):
        for path in paths:
            start = time.perf_counter()
            client.get(path)
            first = (time.perf_counter() - start) * 1000
            median = _median_ms(client, path, args.repeats)
            worst = max(worst, median)
            ratio = median / anchor
            print(f"{path:<40} {median:7.1f} ms  ({ratio:5.1f}x anchor; first {first:.0f} ms)")
    verdict = "within" if worst < GOAL_MS else "over"
    print(f"slowest page {worst:.1f} ms: {verdict} the {GOAL_MS:.0f} ms goal")


if __name__ == "__main__":
    main()
