"""Accessibility: axe-core (from the npm registry, package-lock.json) finds no serious or
critical violation on any page, and every action on a page is reachable with the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.support import LiveServer, sign_in
from vigil.store.models import File, FileInstance, Match, Subject

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary"


def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make web` (npm ci)", pytrace=False)
    return AXE.read_text()


def _pages(server: LiveServer) -> dict[str, list[str]]:
    with server.store.reading() as session:
        subject = session.scalars(select(Subject.id).order_by(Subject.priority.desc())).first()
        new = session.scalars(
            select(File.sha256)
            .where(File.mime.like("image/%"), File.id.not_in(select(Match.file_id)))
            .where(File.id.in_(select(FileInstance.file_id)))
        ).first()
        known = session.scalars(
            select(File.sha256)
            .join(Match, Match.file_id == File.id)
            .where(Match.kind == "exact")
            .where(File.id.in_(select(FileInstance.file_id)))
        ).first()
    read = [
        "/",
        "/cases",
        "/cases/OP-DEMO",
        "/files",
        "/files?category=alert",
        f"/files/{new}",
        f"/files/{known}",
        f"/files/{new}/reveal",
        "/series",
        "/subjects",
        "/subjects?sort=label&page=2",
        f"/subjects/{subject}",
        "/links/review",
        "/network",
        f"/network?a={subject}&b=2",
        "/referrals",
        "/me/exposure",
        "/welfare",
        "/audit",
    ]
    return {"supervisor": read, "admin": ["/admin"]}


def _violations(page: object) -> list[str]:
    result = page.evaluate(  # type: ignore[attr-defined]
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_or_critical_violation(
    browser: object, live_server: LiveServer
) -> None:
    source = _axe_source()
    problems = []
    anonymous = browser.new_context().new_page()  # type: ignore[attr-defined]
    anonymous.goto(f"{live_server.url}/login")
    anonymous.evaluate(source)
    problems += [f"/login: {v}" for v in _violations(anonymous)]
    anonymous.context.close()
    checked = 1
    for role, paths in _pages(live_server).items():
        page = sign_in(browser, live_server, role)
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            page.evaluate(source)
            problems += [f"{path}: {v}" for v in _violations(page)]
            checked += 1
        page.context.close()
    assert problems == []
    assert checked >= 20


def _reachable_by_tab(page: object) -> tuple[int, int, list[str]]:
    """Tab through the page; return how many actions it has, how many focus reached, and the
    ones it missed."""
    page.evaluate(  # type: ignore[attr-defined]
        """(selector) => document.querySelectorAll(selector).forEach((el, i) => {
             if (el.checkVisibility()) el.dataset.action = i; })""",
        INTERACTIVE,
    )
    wanted = set(
        page.eval_on_selector_all(  # type: ignore[attr-defined]
            "[data-action]", "els => els.map(e => e.dataset.action)"
        )
    )
    reached: set[str] = set()
    for _ in range(len(wanted) + 40):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        focused = page.evaluate("() => document.activeElement?.dataset?.action ?? null")  # type: ignore[attr-defined]
        if focused is not None:
            reached.add(focused)
        if reached >= wanted:
            break
    missed = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "[data-action]",
        "(els, got) => els.filter(e => !got.includes(e.dataset.action))"
        ".map(e => e.outerHTML.slice(0, 80))",
        sorted(reached),
    )
    return len(wanted), len(reached & wanted), missed


def test_every_action_is_reachable_by_keyboard(browser: object, live_server: LiveServer) -> None:
    pages = _pages(live_server)
    with_actions = [p for p in pages["supervisor"] if not p.startswith(("/network", "/audit"))]
    for role, paths in (("supervisor", with_actions), ("admin", pages["admin"])):
        page = sign_in(browser, live_server, role)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            wanted, reached, missed = _reachable_by_tab(page)
            assert missed == [], path
            assert reached == wanted > 3, path
        page.context.close()


def test_a_link_can_be_rejected_with_the_keyboard_alone(
    browser: object, live_server: LiveServer
) -> None:
    """Tab to the first Reject button of a subject and press Enter: the decision is recorded."""
    with live_server.store.reading() as session:
        subject = session.scalars(select(Subject.id).order_by(Subject.priority.desc())).first()
    page = sign_in(browser, live_server, "analyst")
    page.goto(f"{live_server.url}/subjects/{subject}")
    target = page.get_by_role("button", name="Reject").first
    label = target.get_attribute("aria-label")
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == label:
            break
    else:
        pytest.fail(f"Tab never reached {label!r}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "rejected" in page.locator("[role=status]").first.inner_text()
    page.context.close()
