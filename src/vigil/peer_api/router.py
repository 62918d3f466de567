"""The ``/federation/v1`` router. Every POST is authenticated by peer signature first."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from vigil.errors import VigilError
from vigil.store.db import Store
from vigil.workflows.federation.peering import Caller, authenticate

MAX_BODY_BYTES = 64 * 1024 * 1024
Handler = Callable[[Store, Caller, dict[str, Any]], dict[str, Any]]


def _selectors_in(payload: dict[str, Any]) -> int:
    blinded = payload.get("blinded")
    return len(blinded) if isinstance(blinded, list) else 0


def _handlers() -> dict[str, tuple[Handler, str]]:
    from vigil.workflows.federation import deconflict, exchange

    return {
        "set": (deconflict.serve_set, "The holder's signed, expiring set of evaluated selectors."),
        "evaluate": (
            deconflict.serve_evaluate,
            "Evaluate a batch of blinded selectors (RFC 9497 VOPRF); rate-limited per peer.",
        ),
        "confirm": (
            deconflict.serve_confirm,
            "Confirm hits: both sides record them; answers contact point and opaque reference.",
        ),
        "referrals": (exchange.receive_referral, "Deliver a signed referral package (idempotent)."),
        "outcomes": (exchange.receive_outcome, "Report an outcome for a referred subject."),
        "keys": (exchange.receive_key, "Learn the peer's new signing key, signed by its old one."),
    }


_SIGNED = {
    "description": "Peer signature (Ed25519) over method, path, agency, timestamp, nonce and "
    "body digest; see docs/federation.md.",
    "parameters": [
        {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
        for h in ("X-Vigil-Agency", "X-Vigil-Timestamp", "X-Vigil-Nonce", "X-Vigil-Signature")
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


def error_response(exc: VigilError) -> JSONResponse:
    return JSONResponse(
        {"error": type(exc).__name__, "detail": " ".join(str(exc).split())},
        status_code=exc.http_status,
    )


def build_router(store: Store | Callable[[], Store]) -> APIRouter:
    """The peer router over ``store`` (or a callable giving it, for apps that open it late),
    to be included under ``API_PREFIX``."""
    router = APIRouter(tags=["federation"])

    def opened() -> Store:
        return store if isinstance(store, Store) else store()

    def endpoint(name: str, handler: Handler) -> Callable[..., Any]:
        async def call(agency: str, request: Request) -> JSONResponse:
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                return JSONResponse(
                    {"error": "TooLarge", "detail": f"body over {MAX_BODY_BYTES} bytes"}, 413
                )
            body = await request.body()
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                return JSONResponse({"error": "BadInput", "detail": "body is not JSON"}, 400)
            if not isinstance(payload, dict):
                return JSONResponse({"error": "BadInput", "detail": "body is not an object"}, 400)

            def work() -> dict[str, Any]:
                caller = authenticate(
                    opened(),
                    agency,
                    dict(request.headers),
                    "POST",
                    request.url.path,
                    body,
                    selectors=_selectors_in(payload),
                )
                return handler(opened(), caller, payload)

            try:
                return JSONResponse(await run_in_threadpool(work))
            except VigilError as exc:
                return error_response(exc)

        call.__name__ = f"federation_{name}"
        return call

    for name, (handler, summary) in _handlers().items():
        router.add_api_route(
            f"/agencies/{{agency}}/{name}",
            endpoint(name, handler),
            methods=["POST"],
            summary=summary,
            openapi_extra=_SIGNED,
            response_class=JSONResponse,
        )

    async def identity(agency: str) -> JSONResponse:
        from vigil.workflows.federation.node import public_identity

        try:
            found = await run_in_threadpool(public_identity, opened(), agency)
        except VigilError as exc:
            return error_response(exc)
        return JSONResponse(found)

    router.add_api_route(
        "/agencies/{agency}/identity",
        identity,
        methods=["GET"],
        summary="The node's public identity: agency, country, URL and signing key.",
    )
    return router
