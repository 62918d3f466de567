"""Review links in the browser: a pair the model linked is rejected from the queue, leaves it
at once, and the subject page no longer holds both accounts after the re-linking job; Skip
hides a pair for this browser only and records nothing (docs/web.md)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.web.support import LiveServer, sign_in
from vigil.store.models import LinkDecision

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]


def _accounts_on(page: object, server: LiveServer, subject: str) -> set[str]:
    """The accounts a subject page lists, as ``platform:username`` in lower case."""
    page.goto(f"{server.url}{subject}")  # type: ignore[attr-defined]
    cells = page.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()  # type: ignore[attr-defined]
    accounts = set()
    for cell in cells:
        username, _, platform = cell.partition(" on ")
        accounts.add(f"{platform.strip().casefold()}:{username.strip().casefold()}")
    return accounts


def _queue_length(page: object) -> int:
    text = page.locator("#queue-state").inner_text()  # type: ignore[attr-defined]
    found = re.match(r"([\d,]+) pairs? to review", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_a_link_rejected_in_the_queue_leaves_it_and_changes_the_subject_page(
    browser: object, live_server: LiveServer
) -> None:
    page = sign_in(browser, live_server, "analyst")
    page.goto(f"{live_server.url}/links/review")
    expect(page.locator("h1")).to_have_text("Review links")
    linked = page.locator("article.review-item", has_text="Linked: both accounts are in").first
    expect(linked).to_be_visible()
    pair = linked.get_attribute("data-pair") or ""
    a, b = (side.strip() for side in pair.split(" | "))
    subject = linked.locator("a[href^='/subjects/']").first.get_attribute("href") or ""
    assert re.fullmatch(r"/subjects/\d+", subject)
    assert {a, b} <= _accounts_on(page, live_server, subject)

    page.goto(f"{live_server.url}/links/review")
    with live_server.store.reading() as session:
        decisions = session.scalar(select(func.count(LinkDecision.id)))
    with page.expect_navigation():
        page.locator(f"article[data-pair='{pair}']").get_by_role("button", name="Reject").click()
    expect(page.locator(".notice.ok")).to_contain_text("are not the same person")
    assert page.locator(f"article[data-pair='{pair}']").count() == 0
    watch = page.locator("#job-watch")
    expect(watch).to_be_visible()
    # The page reloads itself (vigil.js) once the re-linking job is done.
    page.wait_for_url(f"{live_server.url}/links/review", timeout=60_000)
    assert page.locator(f"article[data-pair='{pair}']").count() == 0
    with live_server.store.reading() as session:
        assert session.scalar(select(func.count(LinkDecision.id))) == decisions + 1
    assert not {a, b} <= _accounts_on(page, live_server, subject)
    page.context.close()


def test_skip_hides_a_pair_for_this_browser_until_shown_again(
    browser: object, live_server: LiveServer
) -> None:
    page = sign_in(browser, live_server, "investigator")
    page.goto(f"{live_server.url}/links/review")
    first = page.locator("article.review-item").first
    pair = first.get_attribute("data-pair")
    total = _queue_length(page)
    with live_server.store.reading() as session:
        decisions = session.scalar(select(func.count(LinkDecision.id)))
    with page.expect_navigation():
        first.get_by_role("button", name="Skip").click()
    expect(page.locator("#queue-state")).to_contain_text("1 skipped by you")
    assert page.locator(f"article[data-pair='{pair}']").count() == 0
    assert _queue_length(page) == total - 1
    other = sign_in(browser, live_server, "supervisor")
    other.goto(f"{live_server.url}/links/review")
    assert other.locator(f"article[data-pair='{pair}']").count() == 1
    other.context.close()
    with page.expect_navigation():
        page.get_by_role("button", name="Show skipped pairs again").click()
    assert page.locator(f"article[data-pair='{pair}']").count() == 1
    assert _queue_length(page) == total
    with live_server.store.reading() as session:
        assert session.scalar(select(func.count(LinkDecision.id))) == decisions
    page.context.close()
