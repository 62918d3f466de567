"""The live server and browser fixtures of tests/web/support.py, for every test here."""

from tests.web.support import browser, live_server  # noqa: F401
