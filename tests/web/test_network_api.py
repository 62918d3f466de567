"""The ranking over the API comes a page at a time (default 100, ``limit``/``offset``, the
total in ``X-Total-Count`` and the next page in ``Link``), and the graph can be limited to the
top N subjects, on the demo operation (docs/server.md, "Endpoints"). After new evidence the
network page answers at once with the last ranking, saying it is being updated (docs/web.md)."""

from __future__ import annotations

import re

import pytest

from tests.actors import admin_actor
from tests.web.support import PASSWORD, LiveServer, sign_in
from vigil.store import audit

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]


def _api(browser: object, server: LiveServer) -> object:
    context = browser.new_context()  # type: ignore[attr-defined]
    signed = context.request.post(
        f"{server.url}/api/auth/login",
        data={"agency": "DEMO", "username": server.user("analyst"), "password": PASSWORD},
    )
    assert signed.status == 200
    return context.request


def test_the_ranking_comes_a_page_at_a_time(browser: object, live_server: LiveServer) -> None:
    api = _api(browser, live_server)
    everything = api.get(f"{live_server.url}/api/network/rank?limit=10000")  # type: ignore[attr-defined]
    rows = everything.json()
    total = int(everything.headers["x-total-count"])
    assert total == len(rows) > 20
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    default = api.get(f"{live_server.url}/api/network/rank")  # type: ignore[attr-defined]
    assert default.json() == rows[:100]

    pages, url = [], f"{live_server.url}/api/network/rank?limit=7"
    while url:
        answer = api.get(url)  # type: ignore[attr-defined]
        assert answer.status == 200 and int(answer.headers["x-total-count"]) == total
        pages.append(answer.json())
        following = re.match(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
        url = f"{live_server.url}{following.group(1)}" if following else ""
    assert all(len(p) == 7 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    assert [r for p in pages for r in p] == rows  # every row once, in order
    top = api.get(f"{live_server.url}/api/network/rank?top=5").json()  # type: ignore[attr-defined]
    assert top == rows[:5]
    bad = api.get(f"{live_server.url}/api/network/rank?limit=0")  # type: ignore[attr-defined]
    assert bad.status == 422


def test_the_graph_can_be_limited_to_the_top_subjects(
    browser: object, live_server: LiveServer
) -> None:
    api = _api(browser, live_server)
    whole = api.get(f"{live_server.url}/api/network/graph").json()  # type: ignore[attr-defined]
    top = api.get(f"{live_server.url}/api/network/rank?top=3").json()  # type: ignore[attr-defined]
    small = api.get(f"{live_server.url}/api/network/graph?top=3").json()  # type: ignore[attr-defined]
    assert {"nodes", "edges"} <= set(small) and {"nodes", "edges"} <= set(whole)
    assert whole["subjects_shown"] == whole["subjects_in_reach"] > 3
    assert (small["subjects_shown"], small["subjects_in_reach"]) == (3, whole["subjects_in_reach"])
    subjects = {n["id"] for n in small["nodes"] if n["kind"] == "subject"}
    assert {f"subject:{r['subject_id']}" for r in top} <= subjects
    assert len(small["nodes"]) < len(whole["nodes"])
    kept = {n["id"] for n in small["nodes"]}
    assert all(e["source"] in kept and e["target"] in kept for e in small["edges"])


def test_after_new_evidence_the_network_page_shows_the_last_ranking_at_once(
    browser: object, live_server: LiveServer
) -> None:
    page = sign_in(browser, live_server, "analyst")
    page.goto(f"{live_server.url}/network")  # a ranking is kept
    # The page's own graph request goes to the API, which waits for a rebuild: let it end
    # first, or it could rebuild after the new evidence and leave nothing to be updating.
    page.wait_for_load_state("networkidle")
    before = page.locator("table tbody tr").count()
    assert before > 0
    with live_server.store.transaction() as session:  # new evidence, as an ingest writes
        audit.append(session, admin_actor(live_server.store), "ingest.source", "source", 0, {})
    page.goto(f"{live_server.url}/network")
    assert "being worked out again" in page.locator("#ranking-updating").inner_text()
    assert page.locator("table tbody tr").count() == before
    page.context.close()
