"""Workflows compose engines and the store. The CLI and the server call only these."""
