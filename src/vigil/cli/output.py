"""Printing results: JSON for machines, rich tables for people."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(stderr=False)
err_console = Console(stderr=True, soft_wrap=True)  # one message, one line


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, default=_default, indent=indent, ensure_ascii=False)


def print_json(value: Any) -> None:
    sys.stdout.write(to_json(value) + "\n")


def print_json_line(value: Any) -> None:
    sys.stdout.write(to_json(value, indent=None) + "\n")


def print_note(text: str) -> None:
    """One line on stderr for a person (what to run first), never mixed into stdout data."""
    sys.stderr.write(text + "\n")


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)
