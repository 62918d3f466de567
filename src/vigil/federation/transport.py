"""How a request reaches a peer: one method behind an interface, as httpx's transports are.

``HttpTransport`` speaks HTTP(S) to configured peers and nothing else. ``InProcessTransport``
is its twin for tests and the demo: peers are ASGI-less callables registered by URL, and a
URL marked down answers as an unreachable host does. Either way a peer that cannot be reached
raises ``PeerUnreachable``, which the outbox turns into "try again later".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from vigil.errors import VigilError


class PeerUnreachable(VigilError):
    http_status = 503


@dataclass(frozen=True)
class PeerResponse:
    status: int
    body: bytes


class Transport(Protocol):
    def send(
        self, url: str, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> PeerResponse: ...


class HttpTransport:
    def __init__(self, timeout_seconds: float = 30.0):
        self._client = httpx.Client(timeout=timeout_seconds, trust_env=False)

    def send(
        self, url: str, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> PeerResponse:
        try:
            response = self._client.request(
                method,
                url.rstrip("/") + path,
                content=body,
                headers={**headers, "content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"peer {url} cannot be reached: {exc}") from exc
        return PeerResponse(response.status_code, response.content)

    def close(self) -> None:
        self._client.close()


Handler = Callable[[str, str, bytes, Mapping[str, str]], PeerResponse]


@dataclass
class InProcessTransport:
    handlers: dict[str, Handler] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)

    def send(
        self, url: str, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> PeerResponse:
        base = url.rstrip("/")
        if base in self.down or base not in self.handlers:
            raise PeerUnreachable(f"peer {url} cannot be reached")
        return self.handlers[base](method, path, body, headers)
