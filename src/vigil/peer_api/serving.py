"""Serving a node's peer endpoints on loopback from a thread: the demo's nodes and the tests'.

The listening socket is bound before the server starts, so a peer can be given the URL at
once; requests that arrive before the server loop runs wait in the socket's backlog instead
of failing. ``reserve`` binds without listening: the port refuses connections (a node that is
down) until ``start``.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class NodeServer:
    def __init__(self, app: Any, host: str = "127.0.0.1"):
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, 0))
        self.host, self.port = self.socket.getsockname()[:2]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def reserve(cls, app: Any) -> NodeServer:
        return cls(app)

    def start(self) -> NodeServer:
        self.socket.listen(128)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        self.socket.close()

    def __enter__(self) -> NodeServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
