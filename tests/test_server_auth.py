"""Signing in and out, the session cookie, CSRF, bearer tokens, throttling, security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli_runner import run_cli
from tests.server_support import PASSWORD, Unit, make_unit, served_unit
from vigil.server.auth import CSRF_HEADER, SESSION_COOKIE
from vigil.server.headers import CONTENT_SECURITY_POLICY
from vigil.store.db import Store
from vigil.store.models import ApiToken, LoginSession, User
from vigil.workflows.operation.credentials import digest


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def _login(client, agency: str = "TEST", username: str = "investigator-test", password=PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/auth/login", json={"agency": agency, "username": username, "password": password}
    )


def test_login_sets_a_strict_httponly_expiring_cookie_and_stores_only_hashes(unit: Unit) -> None:
    client = unit.client()
    response = _login(client)
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower()
    secret = client.cookies[SESSION_COOKIE]
    with unit.store.reading() as session:
        row = session.scalars(select(LoginSession)).one()
        stored = [row.token_hash, row.csrf_hash]
        tokens = [t.token_hash for t in session.scalars(select(ApiToken))]
    assert stored == [digest(secret), digest(csrf)]
    assert secret not in stored and csrf not in stored
    assert all(len(t) == 64 for t in tokens)
    assert set(unit.tokens.values()).isdisjoint(tokens)
    me = client.get("/api/auth/me")
    assert me.json() == {
        "user_id": me.json()["user_id"],
        "username": "investigator-test",
        "agency": "TEST",
        "role": "investigator",
    }


def test_passwords_are_argon2id(unit: Unit) -> None:
    with unit.store.reading() as session:
        hashes = list(session.scalars(select(User.password_hash)))
    assert hashes and all(h and h.startswith("$argon2id$") for h in hashes)


def test_an_unknown_user_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    from vigil.workflows.operation import accounts

    assert not accounts._hasher.check_needs_rehash(accounts._DUMMY_HASH)
    assert accounts._hasher.verify(accounts._DUMMY_HASH, "not a password anyone has")


def test_a_write_with_the_cookie_but_without_the_csrf_token_is_refused(unit: Unit) -> None:
    client = unit.client()
    csrf = _login(client).json()["csrf_token"]
    refused = client.post("/api/cases", json={"reference": "NO-TOKEN"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden" and CSRF_HEADER in refused.json()["detail"]
    wrong = client.post("/api/cases", json={"reference": "NO-TOKEN"}, headers={CSRF_HEADER: "x"})
    assert wrong.status_code == 403
    assert client.get("/api/cases/NO-TOKEN").status_code == 404  # nothing was written
    made = client.post("/api/cases", json={"reference": "WITH-TOKEN"}, headers={CSRF_HEADER: csrf})
    assert made.status_code == 201 and made.json()["created"] is True


def test_bearer_tokens_need_no_csrf_and_stop_working_when_revoked(unit: Unit) -> None:
    client = unit.client()
    csrf = _login(client).json()["csrf_token"]
    made = client.post(
        "/api/auth/tokens", json={"name": "script", "days": 7}, headers={CSRF_HEADER: csrf}
    )
    assert made.status_code == 201
    token = made.json()["token"]
    script = unit.client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert (
        script.post("/api/cases", json={"reference": "BY-SCRIPT"}, headers=bearer).status_code
        == 201
    )
    revoked = client.delete("/api/auth/tokens/script", headers={CSRF_HEADER: csrf})
    assert revoked.status_code == 200
    again = script.get("/api/cases", headers=bearer)
    assert again.status_code == 401 and again.json()["error"] == "not_signed_in"


def test_logout_ends_the_session(unit: Unit) -> None:
    client = unit.client()
    csrf = _login(client).json()["csrf_token"]
    secret = client.cookies[SESSION_COOKIE]
    assert client.post("/api/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    replay = unit.client()
    replay.cookies.set(SESSION_COOKIE, secret)
    assert replay.get("/api/cases").status_code == 401


def test_failed_logins_are_slowed_then_refused_even_with_the_right_password(
    sqlite_store: Store, tmp_path: Path
) -> None:
    unit = make_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)
    throttle = unit.app.state.login_throttle
    client = unit.client()
    statuses = [_login(client, password="wrong password").status_code for _ in range(6)]
    assert statuses == [401] * 6
    assert throttle.wait_before("test/investigator-test") is None
    refused = _login(client)
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert _login(client, username="analyst-test").status_code == 200  # other accounts unaffected


def test_the_delay_grows_after_the_first_failures(unit: Unit) -> None:
    throttle = unit.app.state.login_throttle
    throttle.delay = 0.5
    waits = []
    for _ in range(6):
        waits.append(throttle.wait_before("k"))
        throttle.failed("k")
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]
    assert throttle.wait_before("k") is None
    throttle.succeeded("k")
    assert throttle.wait_before("k") == 0.0


def test_a_disabled_user_is_locked_out_at_once(unit: Unit) -> None:
    client = unit.client()
    assert client.get("/api/cases", headers=unit.bearer("TEST", "analyst")).status_code == 200
    result = run_cli("user", "disable", "analyst-test", "--agency", "TEST")
    assert result.exit_code == 0, result.stderr
    assert client.get("/api/cases", headers=unit.bearer("TEST", "analyst")).status_code == 401
    assert _login(client, username="analyst-test").status_code == 401


def test_errors_are_json_and_api_responses_are_not_cached(unit: Unit) -> None:
    client = unit.client()
    for response in (
        client.get("/api/cases"),
        client.get("/api/nowhere"),
        client.post("/api/auth/login", json={"agency": "TEST"}),
        client.get("/api/files/not-a-hash", headers=unit.bearer("TEST", "analyst")),
    ):
        assert response.status_code in {401, 404, 422}
        assert set(response.json()) == {"error", "detail"}
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    csp = CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in csp and "http" not in csp and "script-src 'self'" in csp
    listed = client.get("/api/cases", headers=unit.bearer("TEST", "analyst"))
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    assert listed.headers["x-content-type-options"] == "nosniff"


def test_the_openapi_document_is_served_under_api(unit: Unit) -> None:
    document = unit.client().get("/api/openapi.json").json()
    assert {"/api/cases", "/api/subjects", "/api/network/rank", "/api/auth/login"} <= set(
        document["paths"]
    )
