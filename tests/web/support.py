"""A running Vigil server over the small demo operation, and a browser to drive it.

The server is ``create_app`` on uvicorn in a thread of the test process, bound to 127.0.0.1 on
a port the OS picks; the browser is Debian's Chromium driven by Playwright (never a browser
download). Agency DEMO holds the operation and a user of every role; agency OTHER, on the
same server, has a user of every role and no cases, so it must see nothing of DEMO's.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from tests.chromium import chromium_path
from vigil.server import ServerSettings, create_app
from vigil.server.policy import ROLES
from vigil.store.db import Store
from vigil.workflows.operation.accounts import add_agency, add_user
from vigil.workflows.operation.demo import run_demo
from vigil.workflows.operation.setup import find_actor

PASSWORD = "correct horse battery"
AGENCIES = ("DEMO", "OTHER")


@dataclass
class LiveServer:
    url: str
    store: Store
    demo: Path

    def user(self, role: str, agency: str = "DEMO") -> str:
        return f"{role}-{agency.lower()}"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue here until uvicorn takes them: no start-up race
    return sock


def _populate(root: Path) -> Store:
    result = run_demo(root / "demo", scale="small", jobs=1)
    store = Store(f"sqlite:///{result.paths.database}")
    admin = find_actor(store, "DEMO/admin")
    add_agency(store, admin, "OTHER", "Other unit", "GB")
    for agency in AGENCIES:
        for role in ROLES:
            add_user(store, admin, f"{role}-{agency.lower()}", role, PASSWORD, agency)
    return store


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("web")
    store = _populate(root)
    settings = ServerSettings(
        evidence_root=root,
        upload_dir=root / "uploads",
        referral_dir=root / "referrals",
        login_delay_seconds=0.0,
    )
    app = create_app(store, settings)
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    yield LiveServer(f"http://127.0.0.1:{port}", store, root / "demo")
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()
    store.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def sign_in(
    browser: object,
    server: LiveServer,
    role: str,
    agency: str = "DEMO",
    *,
    username: str | None = None,
) -> object:
    """A fresh browser context signed in through the sign-in page; returns its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.fill("#agency", agency)
    page.fill("#username", username or server.user(role, agency))
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page
