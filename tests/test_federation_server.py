"""The peer endpoints inside the server app: in its OpenAPI document, under their own prefix,
authenticated by peer signatures only (a user's session or token opens nothing there)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.actors import admin_actor
from tests.server_support import add_test_user
from vigil.federation.signing import Signer, public_key_text
from vigil.server import create_app
from vigil.store.db import Store
from vigil.workflows.federation.node import add_peer, init_node
from vigil.workflows.federation.peering import agency_path
from vigil.workflows.operation.credentials import issue_token
from vigil.workflows.operation.setup import find_actor

PEER = Signer("GB-PEER", b"\x09" * 32)


def test_peer_endpoints_are_in_the_server_and_take_only_signatures(
    sqlite_store: Store, tmp_path: Path
) -> None:
    actor = admin_actor(sqlite_store)
    init_node(sqlite_store, actor, tmp_path / "keys", url="http://127.0.0.1:1", contact="desk")
    add_peer(
        sqlite_store, actor, PEER.agency, "http://127.0.0.1:2", public_key_text(PEER.public_key)
    )
    client = TestClient(create_app(sqlite_store))
    paths = client.get("/api/openapi.json").json()["paths"]
    for endpoint in ("set", "evaluate", "confirm", "referrals", "outcomes", "keys"):
        assert f"/federation/v1/agencies/{{agency}}/{endpoint}" in paths
    assert "/api/deconfliction/hits" in paths

    path = agency_path("TEST", "set")
    body = json.dumps({"case": "CASE-1", "purpose": "test"}).encode()
    token = issue_token(sqlite_store, actor, "script", 1).token
    with_token = client.post(path, content=body, headers={"Authorization": f"Bearer {token}"})
    assert with_token.status_code == 401
    assert "unsigned request" in with_token.json()["detail"]
    signed = client.post(path, content=body, headers=PEER.headers("POST", path, body))
    assert signed.status_code == 200, signed.text
    assert signed.json()["agency"] == "TEST" and signed.json()["tags"] == []
    add_test_user(sqlite_store, "TEST", "ivan", "investigator")
    investigator = find_actor(sqlite_store, "TEST/ivan")
    reader = issue_token(sqlite_store, investigator, "reader", 1).token
    hits = client.get("/api/deconfliction/hits", headers={"Authorization": f"Bearer {reader}"})
    assert hits.status_code == 200 and hits.json() == []
    admin = client.get("/api/deconfliction/hits", headers={"Authorization": f"Bearer {token}"})
    assert admin.status_code == 403  # the admin role reads no case data (docs/server.md)
