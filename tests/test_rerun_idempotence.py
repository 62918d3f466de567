"""Re-running with nothing new changes nothing (docs/reliability.md): resolve keeps its
reasons as they were, and writes no subject row again."""

from __future__ import annotations

from sqlalchemy import select

from tests.actors import admin_actor
from tests.resolve_store import add_people
from vigil.store.models import SubjectSelector
from vigil.workflows.identity.resolve import resolve


def _links(store) -> list[tuple[int, int, str | None]]:
    with store.reading() as session:
        return sorted(
            session.execute(
                select(
                    SubjectSelector.subject_id, SubjectSelector.selector_id, SubjectSelector.reasons
                )
            ).all()
        )


def test_resolve_twice_with_nothing_new_appends_no_reasons(store) -> None:
    add_people(store)
    resolve(store, admin_actor(store))
    first = _links(store)

    for _ in range(2):
        again = resolve(store, admin_actor(store))
        assert (again.created, again.updated, again.retired) == (0, 0, 0)
    assert _links(store) == first
    assert all((reasons or "").count("same email sonofgod") <= 2 for _, _, reasons in first)
