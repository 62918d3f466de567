"""A crawler visits every page as each role: no response outside the reveal endpoint is media,
and no request leaves the server's origin (the pages work offline, docs/web.md)."""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urljoin, urlparse

import pytest

from tests.web.support import LiveServer, sign_in
from vigil.server.policy import ROLES

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]

REVEAL_MEDIA = re.compile(r"^/api/files/[0-9a-f]{64}/reveal/\d+/media$")
MEDIA = ("image/", "video/", "audio/")
PER_SHAPE = 3  # /subjects/1, /subjects/2... are one page shape: a few of each is enough
NEVER_FOLLOW = ("/logout",)


def shape(path: str, query: str) -> str:
    keys = ",".join(sorted(part.split("=")[0] for part in query.split("&") if part))
    return re.sub(r"/[0-9a-f]{64}|/\d+|/OP-[^/]+", "/{}", path) + ("?" + keys if keys else "")


def crawl(page: object, server: LiveServer, limit: int = 45) -> tuple[list[str], list[str]]:
    """Visit every page reachable by links from the landing page; return the pages visited
    and the problems found."""
    problems: list[str] = []
    origin = urlparse(server.url)

    def on_request(request: object) -> None:
        url = urlparse(request.url)  # type: ignore[attr-defined]
        if url.scheme == "data":
            return
        if (url.scheme, url.netloc) != (origin.scheme, origin.netloc):
            problems.append(f"request left the origin: {request.url}")  # type: ignore[attr-defined]

    def on_response(response: object) -> None:
        kind = response.headers.get("content-type", "")  # type: ignore[attr-defined]
        path = urlparse(response.url).path  # type: ignore[attr-defined]
        if kind.startswith(MEDIA) and not REVEAL_MEDIA.match(path):
            problems.append(f"media outside the reveal endpoint: {path} ({kind})")

    page.on("request", on_request)  # type: ignore[attr-defined]
    page.on("response", on_response)  # type: ignore[attr-defined]
    start = urlparse(page.url)  # type: ignore[attr-defined]
    queue = deque([start.path + (f"?{start.query}" if start.query else "")])
    seen: set[str] = set(queue)
    shapes: Counter[str] = Counter()
    visited: list[str] = []
    while queue and len(visited) < limit:
        target = queue.popleft()
        response = page.goto(server.url + target, wait_until="load")  # type: ignore[attr-defined]
        visited.append(target)
        if response is None or response.status >= 500:
            problems.append(f"{target}: {response.status if response else 'no response'}")
        for link in page.locator("a[href]").all():  # type: ignore[attr-defined]
            href = link.get_attribute("href") or ""
            url = urlparse(urljoin(server.url + target, href))
            if (url.scheme, url.netloc) != (origin.scheme, origin.netloc):
                problems.append(f"{target} links to another origin: {href}")
                continue
            local = url.path + (f"?{url.query}" if url.query else "")
            if url.path in NEVER_FOLLOW or local in seen:
                continue
            seen.add(local)
            if link.get_attribute("download") is not None:
                fetched = page.request.get(server.url + local)  # type: ignore[attr-defined]
                on_response(fetched)
                continue
            key = shape(url.path, url.query)
            if shapes[key] < PER_SHAPE:
                shapes[key] += 1
                queue.append(local)
    return visited, problems


@pytest.mark.parametrize("role", ROLES)
def test_crawl_finds_no_media_and_nothing_from_another_origin(
    browser: object, live_server: LiveServer, role: str
) -> None:
    page = sign_in(browser, live_server, role)
    visited, problems = crawl(page, live_server)
    assert problems == []
    expected = {"admin": {"/admin"}, "auditor": {"/audit", "/network", "/subjects"}}
    decide = {"/", "/files", "/subjects", "/links/review", "/network", "/referrals"}
    assert expected.get(role, decide) <= {path.split("?")[0] for path in visited}
    if role != "admin":
        assert len(visited) >= 20, visited
    page.context.close()
