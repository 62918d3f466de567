"""The authorisation matrix, generated from the app's route table.

Every route × every role × (own agency's object, another agency's object, no credentials),
each against the status the role table of docs/server.md gives. A route must name its
permission (``allow(...)`` or ``public``) and have a request example below; a new route
without either fails here until its rule is written down.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from tests.server_support import (
    PASSWORD,
    Unit,
    add_referral,
    add_series,
    add_test_user,
    served_unit,
)
from vigil.server.auth import Public, Requires
from vigil.server.policy import ROLES, Permission, may
from vigil.store.db import Store
from vigil.store.models import Case, File, FileInstance
from vigil.workflows.operation.credentials import issue_token
from vigil.workflows.sources.provenance import digest_bytes, register_source
from vigil.workflows.welfare.reveal import start_reveal

_counter = itertools.count()
PNG_TAIL = b"\x89PNG\r\n\x1a\n"  # any bytes do: the reveal serves the bytes recorded


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None


# (method, route path) -> how to call it, given the unit, whose object ("TEST" or "OTHER") and
# the caller's role (None: no credentials)
Example = Callable[[Unit, str, str | None], Call]


def _open_reveal(unit: Unit, agency: str, role: str | None) -> tuple[str, int]:
    """A real image in a folder of evidence of ``agency``'s case, revealed by the caller (by
    TEST's investigator for a caller who may not reveal): (its SHA-256, the reveal's id)."""
    folder = unit.app.state.settings.upload_dir.parent / f"evidence-{next(_counter)}"
    folder.mkdir(parents=True)
    content = f"image {folder.name}".encode() + PNG_TAIL
    (folder / "IMG_1.png").write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    viewer = unit.actor("TEST", role if role in ("investigator", "supervisor") else "investigator")
    owner = unit.actor(agency, "investigator")
    with unit.store.transaction() as session:
        reference = unit.objects[agency].case
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        source = register_source(
            session,
            owner,
            kind="evidence",
            original_name=str(folder),
            digest=digest_bytes(content),
            case_id=case.id,
        )
        file = File(sha256=sha, size_bytes=len(content), mime="image/png")
        session.add(file)
        session.flush()
        session.add(FileInstance(file_id=file.id, source_id=source.id, path="IMG_1.png"))
        started = start_reveal(session, viewer, file)
    return sha, started.reveal_id


def _fresh_user(unit: Unit, agency: str) -> str:
    name = f"victim{next(_counter)}"
    add_test_user(unit.store, agency, name, "analyst")
    return name


def _fresh_token(unit: Unit, role: str | None) -> str:
    name = f"doomed{next(_counter)}"
    if role is not None:
        issue_token(unit.store, unit.actor("TEST", role), name, 1)
    return name


EXAMPLES: dict[tuple[str, str], Example] = {
    ("POST", "/api/auth/login"): lambda u, a, r: Call(
        "/api/auth/login", {"agency": a, "username": f"analyst-{a.lower()}", "password": PASSWORD}
    ),
    ("POST", "/api/auth/logout"): lambda u, a, r: Call("/api/auth/logout"),
    ("GET", "/api/auth/me"): lambda u, a, r: Call("/api/auth/me"),
    ("POST", "/api/auth/tokens"): lambda u, a, r: Call(
        "/api/auth/tokens", {"name": f"t{next(_counter)}", "days": 1}
    ),
    ("DELETE", "/api/auth/tokens/{name}"): lambda u, a, r: Call(
        f"/api/auth/tokens/{_fresh_token(u, r)}"
    ),
    ("GET", "/api/users"): lambda u, a, r: Call("/api/users"),
    ("POST", "/api/users"): lambda u, a, r: Call(
        "/api/users",
        {"username": f"new{next(_counter)}", "role": "analyst", "password": PASSWORD},
    ),
    ("POST", "/api/users/{username}/disable"): lambda u, a, r: Call(
        f"/api/users/{_fresh_user(u, a)}/disable"
    ),
    ("GET", "/api/cases"): lambda u, a, r: Call("/api/cases"),
    ("POST", "/api/cases"): lambda u, a, r: Call(
        "/api/cases", {"reference": f"N-{next(_counter)}"}
    ),
    ("GET", "/api/cases/{reference}"): lambda u, a, r: Call(f"/api/cases/{u.objects[a].case}"),
    ("POST", "/api/cases/{reference}/shares"): lambda u, a, r: Call(
        f"/api/cases/{u.objects[a].case}/shares",
        {"agency": "OTHER" if a == "TEST" else "TEST", "access": "read"},
    ),
    ("GET", "/api/subjects"): lambda u, a, r: Call("/api/subjects"),
    ("GET", "/api/subjects/{subject_id}"): lambda u, a, r: Call(
        f"/api/subjects/{u.objects[a].subject_id}"
    ),
    ("GET", "/api/network/rank"): lambda u, a, r: Call("/api/network/rank"),
    ("GET", "/api/network/graph"): lambda u, a, r: Call("/api/network/graph"),
    ("GET", "/api/files/{sha256}"): lambda u, a, r: Call(f"/api/files/{u.objects[a].file_sha256}"),
    ("GET", "/api/referrals"): lambda u, a, r: Call("/api/referrals"),
    ("POST", "/api/referrals/{referral_id}/status"): lambda u, a, r: Call(
        f"/api/referrals/{add_referral(u, a)}/status", {"status": "sent", "note": "by courier"}
    ),
    ("POST", "/api/series/{series_id}/status"): lambda u, a, r: Call(
        f"/api/series/{add_series(u, a)}/status", {"status": "in_progress"}
    ),
    ("GET", "/api/deconfliction/hits"): lambda u, a, r: Call("/api/deconfliction/hits"),
    ("GET", "/api/audit"): lambda u, a, r: Call("/api/audit"),
    ("GET", "/api/audit/verify"): lambda u, a, r: Call("/api/audit/verify"),
    ("GET", "/api/health"): lambda u, a, r: Call("/api/health"),
    ("POST", "/api/files/{sha256}/reveal"): lambda u, a, r: Call(
        f"/api/files/{u.objects[a].file_sha256}/reveal", {"reason": "matrix"}
    ),
    ("GET", "/api/files/{sha256}/reveal/{reveal_id}/media"): lambda u, a, r: Call(
        "/api/files/{}/reveal/{}/media".format(*_open_reveal(u, a, r))
    ),
    ("POST", "/api/files/{sha256}/reveal/{reveal_id}/seconds"): lambda u, a, r: Call(
        "/api/files/{}/reveal/{}/seconds".format(*_open_reveal(u, a, r)), {"seconds": 1.0}
    ),
    ("GET", "/api/me/exposure"): lambda u, a, r: Call("/api/me/exposure"),
    ("GET", "/api/agency/exposure"): lambda u, a, r: Call("/api/agency/exposure"),
    ("GET", "/api/jobs/{job_id}"): lambda u, a, r: Call(f"/api/jobs/{u.objects[a].job_id}"),
    ("POST", "/api/cases/{reference}/triage"): lambda u, a, r: Call(
        f"/api/cases/{u.objects[a].case}/triage", {"path": "device"}
    ),
    ("POST", "/api/cases/{reference}/sources"): lambda u, a, r: Call(
        f"/api/cases/{u.objects[a].case}/sources",
        params={"format": "chat-jsonl", "name": "chat.jsonl"},
        content=b'{"platform": "chat"}\n',
    ),
    ("POST", "/api/hashsets"): lambda u, a, r: Call(
        "/api/hashsets",
        params={"format": "list", "name": f"set{next(_counter)}", "kind": "alert"},
        content=b"d41d8cd98f00b204e9800998ecf8427e\n",
    ),
    ("POST", "/api/resolve"): lambda u, a, r: Call("/api/resolve", {}),
    ("POST", "/api/countries"): lambda u, a, r: Call("/api/countries"),
    ("POST", "/api/referrals"): lambda u, a, r: Call("/api/referrals", {"all": True}),
    ("GET", "/api/outbox"): lambda u, a, r: Call("/api/outbox"),
    ("POST", "/api/outbox/deliver"): lambda u, a, r: Call("/api/outbox/deliver"),
    ("POST", "/api/links/{decision}"): lambda u, a, r: Call(
        "/api/links/reject", {"a": u.objects[a].accounts[0], "b": u.objects[a].accounts[1]}
    ),
    ("GET", "/api/links/review"): lambda u, a, r: Call("/api/links/review"),
    ("POST", "/api/outcomes"): lambda u, a, r: Call(
        "/api/outcomes", {"subject": u.objects[a].subject_id, "kind": "arrest"}
    ),
}

# Routes whose URL names no object: the other-agency column does not apply to them (what a
# list shows of another agency is checked in tests/test_server_scope.py).
NAMES_AN_OBJECT = {
    "/api/cases/{reference}",
    "/api/cases/{reference}/shares",
    "/api/cases/{reference}/triage",
    "/api/cases/{reference}/sources",
    "/api/subjects/{subject_id}",
    "/api/files/{sha256}",
    "/api/jobs/{job_id}",
    "/api/links/{decision}",
    "/api/outcomes",
    "/api/referrals/{referral_id}/status",
    "/api/series/{series_id}/status",
}
NO_OBJECT = {path for (_method, path) in EXAMPLES} - NAMES_AN_OBJECT


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    dependant: Any


def route_rule(route: Endpoint) -> Permission | str | None:
    """The permission a route declares, ``None`` for a public one, "missing" without a rule."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, Requires):
            return dependency.call.permission
        if isinstance(dependency.call, Public):
            return None
        pending.extend(dependency.dependencies)
    return "missing"


def api_routes(unit: Unit) -> Iterator[tuple[str, Endpoint]]:
    """Every (method, route) of the API, with included routers' prefixes and dependencies.

    The web pages (outside ``/api``) answer with pages and redirects, not JSON: their own
    matrix is tests/web/test_pages.py."""
    exempt = tuple(unit.app.state.own_auth_prefixes)
    for context in iter_route_contexts(unit.app.routes):
        path = context.path_format
        if not isinstance(context.original_route, APIRoute) or (exempt and path.startswith(exempt)):
            continue
        if not path.startswith("/api"):
            continue
        for method in sorted(set(context.methods or ()) - {"HEAD"}):
            yield method, Endpoint(method, path, context.dependant)


@pytest.fixture
def unit(sqlite_store: Store, tmp_path: Path) -> Iterator[Unit]:
    yield from served_unit(sqlite_store, tmp_path, login_delay_seconds=0.0)


def test_every_route_has_a_rule_and_an_example(unit: Unit) -> None:
    problems = []
    for method, route in api_routes(unit):
        if route_rule(route) == "missing":
            problems.append(f"{method} {route.path}: no allow(...)/public dependency")
        if (method, route.path) not in EXAMPLES:
            problems.append(f"{method} {route.path}: no example in this test")
    assert problems == []


def _expected(rule: Permission | None, role: str | None, whose: str, path: str) -> set[int]:
    if rule is None:
        return {200}
    if role is None:
        return {401}
    if not may(role, rule):
        return {403}
    if whose == "OTHER" and path not in NO_OBJECT:
        return {404}
    return {200, 201, 202}


def test_authorisation_matrix(unit: Unit) -> None:
    client = unit.client()
    failures = []
    cells = 0
    for method, route in api_routes(unit):
        rule = route_rule(route)
        assert rule != "missing", route.path
        example = EXAMPLES[(method, route.path)]
        for role, whose in itertools.product([*ROLES, None], ("TEST", "OTHER")):
            if whose == "OTHER" and route.path in NO_OBJECT and role is not None:
                continue
            call = example(unit, whose, role)
            headers = unit.bearer("TEST", role) if role else {}
            response = client.request(
                method,
                call.path,
                json=call.json,
                params=call.params,
                content=call.content,
                headers=headers,
            )
            cells += 1
            expected = _expected(rule, role, whose, route.path)  # type: ignore[arg-type]
            if response.status_code not in expected:
                failures.append(
                    f"{method} {route.path} as {role or 'nobody'} on {whose}'s: "
                    f"{response.status_code} {response.text[:120]}, expected {sorted(expected)}"
                )
            elif response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error", "detail"}, body
    assert failures == [], "\n".join(failures)
    assert cells > 100, cells
