"""The store's constants that interfaces read at start-up: where a store opens when none is
named, and the outcome kinds a referral can end in.

Free of SQLAlchemy, which ``db`` and ``models`` import and which took a third of a second of
every command's start-up, ``vigil --help`` included, when the CLI read these from there.
"""

from __future__ import annotations

DEFAULT_URL = "sqlite:///vigil.db"
OUTCOME_KINDS = ("arrest", "charge", "conviction", "sentence", "safeguarded")
