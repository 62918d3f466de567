"""The Vigil exception tree.

Every error a user can cause is a ``VigilError``. Interfaces (the CLI, the server) turn it
into one line of text or one JSON body; nothing below them prints or exits.

    VigilError                 any failure Vigil understands; exit code 2 at the CLI
    ├── UsageError             a command was asked for something it cannot do
    ├── NotFound               a named case, subject, hash set... does not exist
    ├── BadInput               a file or record cannot be read; names the source and location
    │   └── UnsupportedFormat  "not my format": raised before anything is written
    ├── StoreError             the database refused or could not be reached
    ├── Busy                   another process is writing the same source right now
    ├── IntegrityViolation     evidence or the audit chain does not verify
    ├── NotSignedIn            the server was asked something without a valid session/token
    ├── Forbidden              the user's role may not do this (the role table, docs/server.md)
    ├── TooManyAttempts        repeated failed sign-ins: refused for a while
    └── TooLarge               an upload over the configured limit

Foreign exceptions (lxml, Pillow, psycopg...) are mapped at the boundary where they occur,
with ``raise VigilError(...) from exc``, so the cause stays in the logged trace.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class. ``exit_code`` is what the CLI returns; ``http_status`` what the API does."""

    exit_code = 2
    http_status = 400


class UsageError(VigilError):
    pass


class NotFound(VigilError):
    http_status = 404


class BadInput(VigilError):
    """A source could not be read. Carries where, so the message can say so."""

    def __init__(self, message: str, *, source: str | None = None, location: str | None = None):
        self.source = source
        self.location = location
        where = ", ".join(part for part in (source, location) if part)
        super().__init__(f"{where}: {message}" if where else message)


class UnsupportedFormat(BadInput):
    pass


class StoreError(VigilError):
    http_status = 503


class Busy(VigilError):
    http_status = 409


class IntegrityViolation(VigilError):
    http_status = 409


class NotSignedIn(VigilError):
    http_status = 401


class Forbidden(VigilError):
    http_status = 403


class TooManyAttempts(VigilError):
    http_status = 429


class TooLarge(VigilError):
    http_status = 413
