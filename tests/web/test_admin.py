"""The admin's page makes and revokes tokens and pins, disables and enables peer agencies,
through the same workflows as the API and `vigil peer`: audited, behind CSRF, and
for the admin role only (docs/web.md, "Users and settings")."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.web.support import LiveServer, sign_in
from tests.web.test_access import _axe_source, _violations
from vigil.federation.signing import public_key_text
from vigil.server.policy import ROLES
from vigil.store.models import ApiToken, AuditEntry, Peer

pytestmark = [pytest.mark.xdist_group("web"), pytest.mark.slow]


def _audit(server: LiveServer, action: str) -> list[dict[str, object]]:
    with server.store.reading() as session:
        return [
            json.loads(entry.details or "{}")
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ]


def _csrf(page: object) -> str:
    cookies = page.context.cookies()  # type: ignore[attr-defined]
    return next(c["value"] for c in cookies if c["name"] == "vigil_csrf")


def test_an_admin_makes_a_token_sees_it_once_and_revokes_it(
    browser: object, live_server: LiveServer
) -> None:
    page = sign_in(browser, live_server, "admin")
    page.goto(f"{live_server.url}/admin")
    page.select_option("#token-user", live_server.user("investigator"))
    page.fill("#token-name", "nightly-ingest")
    page.fill("#token-days", "7")
    with page.expect_navigation():
        page.get_by_role("button", name="Make token").click()
    secret = page.locator("#new-token-secret").input_value()
    assert len(secret) >= 40
    assert "not shown again" in page.locator("[role=status]").first.inner_text()
    page.evaluate(_axe_source())
    assert _violations(page) == []

    api = page.context.request
    me = api.get(f"{live_server.url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200 and me.json()["username"] == live_server.user("investigator")
    assert _audit(live_server, "token.create")[-1] == {
        "name": "nightly-ingest",
        "user": live_server.user("investigator"),
    }

    page.goto(f"{live_server.url}/admin")  # shown once: never again
    assert secret not in page.content()
    row = page.locator("tr", has_text="nightly-ingest")
    assert "active" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("button", name="Revoke").click()
    assert "revoked" in page.locator("[role=status]").first.inner_text()
    assert "revoked" in page.locator("tr", has_text="nightly-ingest").inner_text()
    refused = api.get(
        f"{live_server.url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status == 401
    assert _audit(live_server, "token.revoke")[-1]["user"] == live_server.user("investigator")
    page.context.close()


def test_an_admin_pins_a_peer_disables_and_enables_it(
    browser: object, live_server: LiveServer
) -> None:
    key = public_key_text(bytes(range(32)))
    page = sign_in(browser, live_server, "admin")
    page.goto(f"{live_server.url}/admin")
    page.fill("#peer-code", "NO-KRIPOS")
    page.fill("#peer-url", "https://vigil.kripos.example")
    page.fill("#peer-key", key)
    page.fill("#peer-country", "no")
    with page.expect_navigation():
        page.get_by_role("button", name="Add peer").click()
    assert "NO-KRIPOS" in page.locator("[role=status]").first.inner_text()
    row = page.locator("tr", has_text="NO-KRIPOS")
    assert "active" in row.inner_text() and "NO" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("button", name="Disable").click()
    assert "disabled" in page.locator("tr", has_text="NO-KRIPOS").inner_text()
    with live_server.store.reading() as session:
        peer = session.scalars(select(Peer).where(Peer.code == "NO-KRIPOS")).one()
        assert (peer.status, peer.public_key, peer.country) == ("disabled", key, "NO")
    with page.expect_navigation():
        page.locator("tr", has_text="NO-KRIPOS").get_by_role("button", name="Enable").click()
    assert "active" in page.locator("tr", has_text="NO-KRIPOS").inner_text()
    assert _audit(live_server, "peer.add")[-1]["code"] == "NO-KRIPOS"
    assert [d["to"] for d in _audit(live_server, "peer.disable")][-1:] == ["disabled"]
    assert [d["to"] for d in _audit(live_server, "peer.enable")][-1:] == ["active"]

    page.goto(f"{live_server.url}/admin")  # a bad key is one line, and nothing is pinned
    page.fill("#peer-code", "BAD")
    page.fill("#peer-url", "https://bad.example")
    page.fill("#peer-key", "not-a-key")
    with page.expect_navigation():
        page.get_by_role("button", name="Add peer").click()
    assert "not an Ed25519 public key" in page.locator("main").inner_text()
    with live_server.store.reading() as session:
        assert session.scalars(select(Peer).where(Peer.code == "BAD")).first() is None
    page.context.close()


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_the_admin_may_make_tokens_or_pin_peers(
    browser: object, live_server: LiveServer, role: str
) -> None:
    page = sign_in(browser, live_server, role)
    api = page.context.request
    csrf = _csrf(page)
    posts = {
        "/admin/tokens": {"name": f"sneaky-{role}", "days": "1", "csrf_token": csrf},
        "/admin/tokens/revoke": {"name": "x", "csrf_token": csrf},
        "/admin/peers": {
            "code": f"SNEAKY-{role}",
            "url": "https://x.example",
            "public_key": public_key_text(bytes(32)),
            "csrf_token": csrf,
        },
        "/admin/peers/NO-KRIPOS/disable": {"csrf_token": csrf},
    }
    for path, form in posts.items():
        answer = api.post(f"{live_server.url}{path}", form=form, max_redirects=0)
        assert answer.status == 403, path
    with live_server.store.reading() as session:
        assert session.scalars(select(ApiToken).where(ApiToken.name.like("sneaky%"))).all() == []
        assert session.scalars(select(Peer).where(Peer.code.like("SNEAKY%"))).all() == []
    page.context.close()


def test_an_admin_form_without_its_csrf_token_changes_nothing(
    browser: object, live_server: LiveServer
) -> None:
    page = sign_in(browser, live_server, "admin")
    api = page.context.request
    answer = api.post(
        f"{live_server.url}/admin/tokens", form={"name": "no-csrf", "days": "1"}, max_redirects=0
    )
    assert answer.status == 403
    with live_server.store.reading() as session:
        assert session.scalars(select(ApiToken).where(ApiToken.name == "no-csrf")).all() == []
    page.context.close()
