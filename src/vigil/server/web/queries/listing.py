"""Pagination and sorting done by the database, so a page costs the same at any scale."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @classmethod
    def parse(cls, text: str | None, allowed: Mapping[str, Any], default: str) -> Sort:
        """``key`` or ``-key``; anything not in ``allowed`` falls back to ``default``."""
        text = text or default
        descending = text.startswith("-")
        key = text.lstrip("-")
        if key not in allowed:
            return cls.parse(default, allowed, default)
        return cls(key, descending)

    def order(self, allowed: Mapping[str, Any], tiebreak: Any) -> list[Any]:
        column = allowed[self.key]
        primary = column.desc().nulls_last() if self.descending else column.asc().nulls_last()
        return [primary, tiebreak]


@dataclass
class Page:
    number: int
    total: int
    rows: list[Any] = field(default_factory=list)
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def paginate(session: Session, query: Select[Any], number: int, size: int = PAGE_SIZE) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = list(session.execute(query.limit(size).offset((number - 1) * size)).all())
    return Page(number, total, rows, size)
