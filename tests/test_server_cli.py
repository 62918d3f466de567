"""`vigil agency add`, `vigil user add|list|disable` and `vigil serve` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import run_cli
from tests.server_support import free_port
from vigil.store.db import Store


def test_agency_and_users_from_the_command_line(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = run_cli("agency", "add", "GB-NCA", "--name", "National Crime Agency", "--country", "gb")
    assert added.exit_code == 0 and "added agency GB-NCA" in added.stdout
    again = run_cli("agency", "add", "GB-NCA", "--name", "National Crime Agency", "--country", "GB")
    assert again.exit_code == 0 and "exists" in again.stdout
    monkeypatch.setenv("VIGIL_PASSWORD", "a long enough password")
    made = run_cli("user", "add", "alice", "--role", "supervisor", "--agency", "GB-NCA")
    assert made.exit_code == 0, made.stderr
    assert run_cli("user", "add", "alice", "--role", "analyst", "--agency", "GB-NCA").exit_code == 2
    bad_role = run_cli("user", "add", "bob", "--role", "chief")
    assert bad_role.exit_code == 2 and "role must be one of" in bad_role.stderr
    monkeypatch.setenv("VIGIL_PASSWORD", "short")
    assert run_cli("user", "add", "carol", "--role", "analyst").exit_code == 2
    assert run_cli("user", "disable", "alice", "--agency", "GB-NCA").exit_code == 0
    listed = json.loads(run_cli("user", "list", "--json").stdout)
    assert [(u["agency"], u["username"], u["role"], u["disabled"]) for u in listed] == [
        ("GB-NCA", "alice", "supervisor", True),
        ("TEST", "admin", "admin", False),
    ]
    assert run_cli("user", "disable", "nobody").exit_code == 2
    bad_country = run_cli("agency", "add", "X", "--name", "X", "--country", "Germany")
    assert bad_country.exit_code == 2 and "ISO 3166" in bad_country.stderr
    unassigned = run_cli("agency", "add", "X", "--name", "X", "--country", "ZZ")
    assert unassigned.exit_code == 2 and "ISO 3166" in unassigned.stderr


def test_a_wrong_role_is_refused_before_the_password_is_asked(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIL_PASSWORD", raising=False)

    result = run_cli("user", "add", "bob", "--role", "pope")

    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "role must be one of" in result.stderr
    assert "analyst" in result.stderr and "password" not in result.stdout + result.stderr


def test_vigil_serve_answers_on_loopback(sqlite_store: Store, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VIGIL_DB": sqlite_store.url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vigil",
            "serve",
            "--port",
            str(port),
            "--upload-dir",
            str(tmp_path),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        assert f"http://127.0.0.1:{port}/" in banner
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            assert client.get("/api/health").json()["ok"] is True  # bound before the banner
            login = client.post(
                "/api/auth/login",
                json={"agency": "TEST", "username": "admin", "password": "test-password"},
            )
            assert login.status_code == 200
            assert client.get("/api/users").json()[0]["username"] == "admin"
        busy = run_cli("serve", "--port", str(port))
        assert busy.exit_code == 2 and "cannot listen" in busy.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_demo_ends_with_the_summary_and_how_to_open_it_in_a_browser(tmp_path: Path) -> None:
    from vigil.workflows.operation.accounts import authenticate

    out = tmp_path / "demo"
    result = run_cli("demo", "--scale", "small", "--out", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("Operation summary" in line for line in lines)
    truth = json.loads((out / "operation" / "truth.json").read_text())
    dirty_row = next(line for line in lines if "dirty values kept verbatim" in line)
    assert int(dirty_row.split("│")[-2]) == len(truth["dirty_values"]) > 0
    serve_line = next(line for line in lines if line.startswith("open it in a browser: "))
    assert f"--db sqlite:///{out / 'vigil.db'} serve --evidence-root {out / 'operation'}" in (
        serve_line
    )
    sign_in = lines[-1]
    assert sign_in.startswith("then http://127.0.0.1:8000/ and sign in to agency DEMO as")
    password = sign_in.rsplit("password ", 1)[1]
    store = Store(f"sqlite:///{out / 'vigil.db'}")
    actor = authenticate(store, "DEMO", "investigator", password)
    assert actor.role == "investigator"
    store.dispose()
