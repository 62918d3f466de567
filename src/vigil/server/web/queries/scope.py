"""The server's agency scoping (``vigil.server.scope``) as SQL conditions the page queries
can filter, sort and count by in the database."""

from __future__ import annotations

from typing import Any

from vigil.server.scope import (
    file_visible,
    reachable_case_ids,
    reachable_source_ids,
    visible_subject_ids,
)
from vigil.store.db import Actor

__all__ = ["file_visible", "reachable_case_ids", "reachable_source_ids", "subject_visible"]


def subject_visible(actor: Actor, subject_id_column: Any) -> Any:
    return subject_id_column.in_(visible_subject_ids(actor))
