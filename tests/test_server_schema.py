"""Schemathesis over the OpenAPI document, signed in: no 5xx anywhere, every response in the
JSON shape the document gives, error bodies included (``{"error", "detail"}``).

Each operation's cases come from schemathesis's Hypothesis strategy, run here one operation
after another against one app (its pytest plugin's lazy fixture loader does not run on this
pytest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.server_support import make_unit
from vigil.store.db import Store

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 15


def _exercise(operation: Any, headers: dict[str, str], seen: dict[str, set[int]]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "detail"}, response.text
        seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

    return exercise


@pytest.mark.slow
def test_no_server_error_and_every_response_matches_the_document(
    sqlite_store: Store, tmp_path: Path
) -> None:
    unit = make_unit(sqlite_store, tmp_path, login_delay_seconds=0.0, upload_limit_bytes=4096)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", unit.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    seen: dict[str, set[int]] = {}

    for operation in operations:
        role = "admin" if operation.path.startswith("/api/users") else "supervisor"
        _exercise(operation, unit.bearer("TEST", role), seen)()
    assert len(seen) == len(operations)
    assert any(code < 300 for codes in seen.values() for code in codes)


def test_the_document_gives_vigil_error_bodies_for_invalid_requests(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A 422 is answered as ``{"error", "detail"}``, so the document may not promise FastAPI's
    own validation shape (schemathesis once caught the mismatch on ``POST /api/outcomes``)."""
    document = make_unit(sqlite_store, tmp_path).app.openapi()
    invalid = [
        operation["responses"]["422"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if "422" in operation.get("responses", {})
    ]
    assert invalid, "some operation takes input"
    refs = {r["content"]["application/json"]["schema"]["$ref"] for r in invalid}
    assert refs == {"#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "detail"]
