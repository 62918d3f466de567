"""Where a series and a referral stand, changed from their pages by the roles of the role table
(docs/server.md), each change audited; the referral's page records outcomes, which the
subject's page then shows (docs/web.md)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.web.support import LiveServer, sign_in
from vigil.server.policy import ROLES
from vigil.store.models import AuditEntry, Referral, ReferralSubject, Series

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]


def _last_audit(server: LiveServer, action: str) -> dict[str, object]:
    with server.store.reading() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None, action
    return dict(json.loads(entry.details or "{}"))


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_the_status_forms_follow_the_role_table(
    browser: object, live_server: LiveServer, role: str
) -> None:
    page = sign_in(browser, live_server, role)
    page.goto(f"{live_server.url}/series")
    forms = page.locator("form[action$='/status']").count()
    assert (forms > 0) is (role in ("investigator", "supervisor")), role
    with live_server.store.reading() as session:
        referral = session.scalars(select(Referral.id).order_by(Referral.id)).first()
    page.goto(f"{live_server.url}/referrals/{referral}")
    assert page.locator("h1").inner_text().startswith(f"Referral {referral} to ")
    can_refer = role in ("investigator", "supervisor")
    assert page.locator("form[action$='/outcome']").count() == (1 if can_refer else 0)
    assert page.locator("form[action$='/status']").count() == (1 if can_refer else 0)
    page.context.close()


def test_an_investigator_moves_a_series_along(browser: object, live_server: LiveServer) -> None:
    with live_server.store.reading() as session:
        series = session.scalars(select(Series).order_by(Series.id.desc())).first()
    assert series is not None
    page = sign_in(browser, live_server, "investigator")
    page.goto(f"{live_server.url}/series")
    row = page.locator(f"#series-{series.id}")
    row.locator("select[name=status]").select_option("in_progress")
    row.locator("input[name=note]").fill("school badge in view")
    with page.expect_navigation():
        row.get_by_role("button", name="Set").click()
    assert f"Series {series.label} is now in progress" in (
        page.locator("[role=status]").first.inner_text()
    )
    assert "in progress" in page.locator(f"#series-{series.id} .tag").inner_text()
    assert _last_audit(live_server, "series.status") == {
        "label": series.label,
        "from": "unidentified",
        "to": "in_progress",
        "note": "school badge in view",
    }
    page.context.close()


def test_a_referral_status_and_an_outcome_are_recorded_on_its_page(
    browser: object, live_server: LiveServer
) -> None:
    with live_server.store.reading() as session:
        referral, subject = session.execute(
            select(ReferralSubject.referral_id, ReferralSubject.subject_id).order_by(
                ReferralSubject.referral_id.desc(), ReferralSubject.subject_id
            )
        ).first()  # type: ignore[misc]
    page = sign_in(browser, live_server, "supervisor")
    page.goto(f"{live_server.url}/referrals/{referral}")
    page.select_option("#ref-status", "acknowledged")
    page.fill("#ref-note", "their reference 2007/118")
    with page.expect_navigation():
        page.get_by_role("button", name="Save status").click()
    assert f"Referral {referral} is now acknowledged" in (
        page.locator("[role=status]").first.inner_text()
    )
    history = page.locator("table", has_text="Note").inner_text()
    assert "acknowledged" in history and "their reference 2007/118" in history
    assert _last_audit(live_server, "referral.status")["note"] == "their reference 2007/118"

    page.select_option("#out-subject", str(subject))
    page.select_option("#out-kind", "charge")
    page.fill("#out-date", "2007-06-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Record outcome").click()
    assert "charge on 2007-06-01" in page.locator("[role=status]").first.inner_text()
    row = page.locator("tr", has=page.locator(f"a[href='/subjects/{subject}']"))
    assert "charge (2007-06-01)" in row.inner_text()
    page.goto(f"{live_server.url}/subjects/{subject}")
    assert "charge" in page.locator("main").inner_text()
    page.context.close()
