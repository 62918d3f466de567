"""Sign in as each role: the navigation and the actions offered follow the role table of
docs/server.md, and a user of another agency on the same server sees none of DEMO's data."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.web.support import LiveServer, sign_in
from vigil.server.policy import ROLES
from vigil.store.models import File, FileInstance, Match, Subject

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]

READ = ["Overview", "Cases", "Files", "Series", "Subjects", "Network", "Referrals"]
DECIDE = [*READ[:5], "Review links", *READ[5:]]
NAVIGATION = {
    "analyst": DECIDE,
    "investigator": DECIDE,
    "supervisor": [*DECIDE, "Staff welfare", "Audit log"],
    "auditor": [*READ, "Audit log"],
    "admin": ["Users and settings"],
}


def _subject_with_link(server: LiveServer) -> int:
    with server.store.reading() as session:
        subjects = session.scalars(select(Subject).order_by(Subject.priority.desc())).all()
    for subject in subjects:
        if subject.status == "open":
            return subject.id
    raise AssertionError("the demo has no subject")


def _new_image(server: LiveServer) -> str:
    with server.store.reading() as session:
        matched = select(Match.file_id)
        return session.scalars(
            select(File.sha256)
            .join(FileInstance, FileInstance.file_id == File.id)
            .where(File.mime.like("image/%"), File.id.not_in(matched))
            .limit(1)
        ).one()


@pytest.mark.parametrize("role", ROLES)
def test_navigation_and_actions_follow_the_role_table(
    browser: object, live_server: LiveServer, role: str
) -> None:
    page = sign_in(browser, live_server, role)
    assert page.locator("nav.main a").all_inner_texts() == NAVIGATION[role]
    meter = page.locator("#exposure-meter")
    assert meter.count() == (1 if role in ("investigator", "supervisor") else 0)

    subject = _subject_with_link(live_server)
    page.goto(f"{live_server.url}/subjects/{subject}")
    if role == "admin":
        assert page.locator("h1").inner_text() == "Not allowed"
        return
    decide = page.locator("form[action$='/links'] button")
    assert (decide.count() > 0) is (role in ("analyst", "investigator", "supervisor"))
    outcome = page.locator("form[action$='/outcome']")
    assert outcome.count() == (1 if role in ("investigator", "supervisor") else 0)

    sha = _new_image(live_server)
    page.goto(f"{live_server.url}/files/{sha}")
    viewer = page.get_by_role("link", name="Open the viewer")
    assert viewer.count() == (1 if role in ("investigator", "supervisor") else 0)
    response = page.goto(f"{live_server.url}/files/{sha}/reveal")
    assert response is not None
    assert response.status == (200 if role in ("investigator", "supervisor") else 403)

    for path, allowed in (
        ("/audit", ("supervisor", "auditor")),
        ("/welfare", ("supervisor",)),
        ("/links/review", ("analyst", "investigator", "supervisor")),
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == (200 if role in allowed else 403), path
    page.context.close()


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_another_agency_sees_nothing_of_the_first(
    browser: object, live_server: LiveServer, role: str
) -> None:
    page = sign_in(browser, live_server, role, agency="OTHER")
    page.goto(f"{live_server.url}/subjects")
    assert page.locator("table caption").inner_text() == "0 subjects"
    page.goto(f"{live_server.url}/files")
    assert page.locator("table caption").inner_text() == "0 files"
    page.goto(f"{live_server.url}/referrals")
    assert "No referrals yet." in page.locator("table").inner_text()
    page.goto(f"{live_server.url}/")
    cards = page.locator(".card .n").all_inner_texts()
    assert set(cards) == {"0"}
    subject = _subject_with_link(live_server)
    response = page.goto(f"{live_server.url}/subjects/{subject}")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server.url}/files/{_new_image(live_server)}")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server.url}/cases/OP-DEMO")
    assert response is not None and response.status == 404
    page.context.close()


def test_a_link_rejected_in_the_browser_changes_the_subject_page(
    browser: object, live_server: LiveServer
) -> None:
    """The analyst rejects one link; after the re-resolve job, the two accounts are no longer
    in one subject and the page shows it."""
    page = sign_in(browser, live_server, "analyst")
    with live_server.store.reading() as session:
        ids = session.scalars(
            select(Subject.id).where(Subject.status == "open").order_by(Subject.priority.desc())
        ).all()
    for subject in ids:
        page.goto(f"{live_server.url}/subjects/{subject}")
        forms = page.locator("form[action$='/links']")
        if forms.count():
            break
    else:
        raise AssertionError("no subject of the demo has a link to decide")
    form = forms.first
    a = form.locator("input[name=a]").get_attribute("value")
    b = form.locator("input[name=b]").get_attribute("value")

    def shown(key: str) -> str:
        platform, username = key.split(":", 1)
        return f"{username} on {platform}"

    accounts = page.locator("table").first.inner_text().lower()
    assert shown(a) in accounts and shown(b) in accounts
    with page.expect_navigation():
        form.get_by_role("button", name="Reject").click()
    assert f"{a} ~ {b} rejected" in page.locator("[role=status]").first.inner_text()
    # The page watches the re-linking job and reloads itself (without the notice) when done.
    page.wait_for_selector("#job-watch", state="detached", timeout=120_000)
    accounts = page.locator("table").first.inner_text().lower()
    assert not (shown(a) in accounts and shown(b) in accounts), accounts
    page.context.close()


def test_an_investigator_uploads_a_source_and_starts_a_triage_and_watches_them(
    browser: object, live_server: LiveServer, tmp_path: Path
) -> None:
    chat = tmp_path / "extra-chat.jsonl"
    chat.write_text(
        '{"platform": "Parley", "room": "swap", "ts": "2006-03-01T10:00:00+00:00", '
        '"sender": "newcomer_1", "sender_id": "901", "text": "night all"}\n'
    )
    page = sign_in(browser, live_server, "investigator")
    page.goto(f"{live_server.url}/cases/OP-DEMO")
    page.select_option("#src-format", "chat-jsonl")
    page.set_input_files("#src-file", str(chat))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and ingest").click()
    assert "ingest job" in page.locator("[role=status]").first.inner_text()
    # The jobs table follows each job's state in place until it is done.
    expect(page.locator("tr", has_text="ingest #")).to_contain_text("done", timeout=120_000)
    page.reload()
    assert "extra-chat.jsonl" in page.locator("main").inner_text()

    device = next((live_server.demo / "operation" / "devices").iterdir())
    page.fill("#triage-path", str(device.relative_to(live_server.demo.parent)))
    with page.expect_navigation():
        page.get_by_role("button", name="Start triage").click()
    assert "Triage job" in page.locator("[role=status]").first.inner_text()
    expect(page.locator("tr", has_text="triage #")).to_contain_text("done", timeout=120_000)
    page.context.close()
