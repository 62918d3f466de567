"""The server's agency scoping (``vigil.server.scope``) as SQL conditions the page queries
can filter, sort and count by in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from vigil.server.scope import reachable_case_ids, reachable_source_ids, visible_subject_ids
from vigil.store.db import Actor
from vigil.store.models import FileInstance

__all__ = ["file_visible", "reachable_case_ids", "reachable_source_ids", "subject_visible"]


def file_visible(actor: Actor, file_id_column: Any) -> Any:
    return exists(
        select(FileInstance.id).where(
            FileInstance.file_id == file_id_column,
            FileInstance.source_id.in_(reachable_source_ids(actor)),
        )
    )


def subject_visible(actor: Actor, subject_id_column: Any) -> Any:
    return subject_id_column.in_(visible_subject_ids(actor))
