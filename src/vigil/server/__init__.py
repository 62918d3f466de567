"""The shared server: the JSON API (and, on top of it, the web pages) over one store."""

from vigil.server.app import create_app, include_own_auth
from vigil.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "include_own_auth"]
