"""The peer endpoints: what other agencies' nodes call, under ``/federation/v1``.

An interface layer like the CLI: it reads the raw request, lets the federation workflows
authenticate the peer's signature (never a user session or token) and act, and turns Vigil
errors into ``{"error", "detail"}`` with their status. ``router`` is included by the server
app; ``app.create_peer_app`` serves it alone, for nodes and tests.
"""
