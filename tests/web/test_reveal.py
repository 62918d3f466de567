"""The viewer in a real browser: one file on request, blurred and greyscale first, audited
with its seconds on screen, counted in the header's meter; past the agency's threshold the
page suggests a break and the supervisor sees it (docs/web.md, "Welfare")."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.web.support import PASSWORD, LiveServer, sign_in
from vigil.store.models import AuditEntry, File, FileInstance, Match, User
from vigil.workflows.operation.accounts import add_user
from vigil.workflows.operation.setup import find_actor
from vigil.workflows.welfare.exposure import set_threshold

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]


def _files(server: LiveServer, *, known: bool, count: int) -> list[str]:
    with server.store.reading() as session:
        exact = select(Match.file_id).where(Match.kind == "exact")
        condition = File.id.in_(exact) if known else File.id.not_in(select(Match.file_id))
        return list(
            session.scalars(
                select(File.sha256)
                .where(File.mime.like("image/%"), condition)
                .where(File.id.in_(select(FileInstance.file_id)))
                .order_by(File.id)
                .limit(count)
            )
        )


def _meter(page: object) -> dict[str, str]:
    cells = page.locator("#exposure-meter [data-meter]")  # type: ignore[attr-defined]
    return {
        cells.nth(i).get_attribute("data-meter"): cells.nth(i).inner_text()
        for i in range(cells.count())
    }


def _reveal(page: object, server: LiveServer, sha256: str) -> dict[str, object]:
    page.goto(f"{server.url}/files/{sha256}")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("link", name="Open the viewer").click()  # type: ignore[attr-defined]
    # The button works through the viewer's script: click only once it has run.
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    with page.expect_response(lambda r: r.url.endswith("/media")) as media:  # type: ignore[attr-defined]
        page.get_by_role("button", name="Reveal this file").click()  # type: ignore[attr-defined]
    image = page.locator("#reveal-stage img")  # type: ignore[attr-defined]
    image.wait_for()
    first = {
        "classes": image.get_attribute("class"),
        "filter": image.evaluate("el => getComputedStyle(el).filter"),
        "content_type": media.value.headers["content-type"],
    }
    page.get_by_role("button", name="Lift blur").click()  # type: ignore[attr-defined]
    first["after_lift"] = image.evaluate("el => getComputedStyle(el).filter")
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("button", name="Close the viewer").click()  # type: ignore[attr-defined]
    return first


def test_reveal_is_blurred_greyscale_first_audited_metered_and_nudges(
    browser: object, live_server: LiveServer
) -> None:
    store = live_server.store
    admin = find_actor(store, "DEMO/admin")
    add_user(store, admin, "viewer-demo", "investigator", PASSWORD)
    page = sign_in(browser, live_server, "investigator", username="viewer-demo")
    assert _meter(page) == {
        "reveals_today": "0",
        "minutes_today": "0.0",
        "reveals_week": "0",
        "minutes_week": "0.0",
    }
    first, second = _files(live_server, known=False, count=2)

    shown = _reveal(page, live_server, first)
    assert shown["classes"] == "blurred greyscale"
    assert "blur(" in shown["filter"] and "grayscale(1)" in shown["filter"]
    assert shown["after_lift"] == "grayscale(1)"
    assert str(shown["content_type"]).startswith("image/")
    assert _meter(page)["reveals_today"] == "1"
    assert page.locator("#break-nudge").count() == 0

    with store.reading() as session:
        viewer = session.scalars(select(User).where(User.username == "viewer-demo")).one()
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.user_id == viewer.id).order_by(AuditEntry.id)
        ).all()
    actions = [(e.action, e.object_id) for e in entries if e.action.startswith("media.")]
    assert actions == [("media.reveal", first), ("media.reveal.close", first)]
    closed = json.loads(entries[-1].details)
    assert closed["blurred"] is False and closed["greyscale"] is True
    assert closed["seconds_on_screen"] >= 0

    with store.transaction() as session:
        set_threshold(session, admin, reveals_per_day=2, minutes_per_day=600)
    try:
        _reveal(page, live_server, second)
        assert _meter(page)["reveals_today"] == "2"
        assert "Time for a break" in page.locator("#break-nudge").inner_text()
        supervisor = sign_in(browser, live_server, "supervisor")
        assert (
            "1 colleague past the break threshold" in supervisor.locator("#staff-over").inner_text()
        )
        supervisor.goto(f"{live_server.url}/welfare")
        row = supervisor.locator("tr", has_text="viewer-demo")
        assert "past the threshold" in row.inner_text()
        supervisor.context.close()
    finally:
        with store.transaction() as session:
            set_threshold(session, admin, reveals_per_day=20, minutes_per_day=30)
    page.context.close()


def test_known_material_is_not_offered_for_viewing(
    browser: object, live_server: LiveServer
) -> None:
    (known,) = _files(live_server, known=True, count=1)
    page = sign_in(browser, live_server, "investigator")
    page.goto(f"{live_server.url}/files/{known}")
    assert "does not need to be viewed" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Open the viewer").count() == 0
    page.goto(f"{live_server.url}/files/{known}/reveal")
    assert page.get_by_role("button", name="Reveal this file").count() == 0
    page.context.close()
