"""Every file a subject sent or received opens a file page: files found on a seized device and
files only named by a provider report or a message (a CyberTipline report may give an MD5
alone). The page gives the hashes, what the hash sets say and where the file was named, and
never media (docs/web.md, "Files")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.support import LiveServer, sign_in
from vigil.store.models import Event, File, FileInstance, Source, SubjectSelector

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]

FILE_LINK = re.compile(r'href="/files/([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})"')


def _report_only_files(server: LiveServer) -> dict[str, set[str]]:
    """Files no device holds, named by a report or message whose sender is in a subject: their
    page key (SHA-256, else SHA-1, else MD5) and the kinds of document naming them."""
    with server.store.reading() as session:
        rows = session.execute(
            select(File.sha256, File.sha1, File.md5, Source.kind)
            .join(Event, Event.file_id == File.id)
            .join(Source, Source.id == Event.source_id)
            .where(
                File.id.not_in(select(FileInstance.file_id)),
                Event.actor_id.in_(select(SubjectSelector.selector_id)),
            )
        ).all()
    found: dict[str, set[str]] = {}
    for sha256, sha1, md5, kind in rows:
        found.setdefault(sha256 or sha1 or md5, set()).add(kind)
    return found


def test_every_file_a_subject_sent_or_received_opens_its_page(
    browser: object, live_server: LiveServer
) -> None:
    expected = _report_only_files(live_server)
    assert any("cybertip" in kinds for kinds in expected.values()), expected
    assert any(len(key) == 32 for key in expected), "the demo has an MD5-only report file"
    page = sign_in(browser, live_server, "analyst")
    request = page.context.request  # type: ignore[attr-defined]
    with live_server.store.reading() as session:
        subjects = session.scalars(
            select(SubjectSelector.subject_id)
            .join(Event, Event.actor_id == SubjectSelector.selector_id)
            .where(Event.file_id.is_not(None))
            .distinct()
        ).all()
    linked: set[str] = set()
    for subject in subjects:
        answer = request.get(f"{live_server.url}/subjects/{subject}")
        assert answer.status == 200, subject
        linked |= set(FILE_LINK.findall(answer.text()))
    assert set(expected) <= linked
    for key in sorted(linked):
        answer = request.get(f"{live_server.url}/files/{key}")
        assert answer.status == 200, key
        assert answer.headers["content-type"].startswith("text/html")
        html = answer.text()
        assert f"<h1>File {key[:12]}" in html and "Fingerprints" in html, key
        assert key in html and "Where it was found" in html, key
        assert not re.search(r"<(img|video|audio|source)\b", html), key
        if key in expected:
            assert "Not found on any seized device" in html, key
            assert "/reveal" not in html, key  # nothing to show: a report holds no file
    page.context.close()


def test_a_file_known_only_from_a_provider_report_says_which_report(
    browser: object, live_server: LiveServer
) -> None:
    md5_only = next(
        key
        for key, kinds in _report_only_files(live_server).items()
        if len(key) == 32 and "cybertip" in kinds
    )
    with live_server.store.reading() as session:
        extra = session.scalars(
            select(Event.extra).join(File, File.id == Event.file_id).where(File.md5 == md5_only)
        ).first()
    assert extra is not None
    page = sign_in(browser, live_server, "investigator")
    page.goto(f"{live_server.url}/files/{md5_only}")
    facts = page.locator("dl.facts").inner_text()
    assert md5_only in facts and "not known" in facts
    reports = page.locator("table", has_text="Named in reports").inner_text()
    assert "cybertip" in reports
    assert f"report {extra['report_id']}, file {extra['file_id']}" in reports
    assert str(extra["file_name"]) in reports
    assert f"provider's category {extra['industryClassification']}" in reports
    assert page.get_by_role("link", name="Open the viewer").count() == 0
    # Another agency on the same server cannot open it.
    other = sign_in(browser, live_server, "investigator", agency="OTHER")
    response = other.goto(f"{live_server.url}/files/{md5_only}")
    assert response is not None and response.status == 404
    other.context.close()
    page.context.close()
