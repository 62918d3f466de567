"""The root Typer application and the state every command shares."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

from vigil.store.constants import DEFAULT_URL

if TYPE_CHECKING:
    from vigil.store.db import Actor, Store


def _index_root() -> Path | None:
    """Where a server store's match index is cached: ``VIGIL_INDEX_DIR``, else under
    ``XDG_DATA_HOME``, else the store's default."""
    if configured := os.environ.get("VIGIL_INDEX_DIR"):
        return Path(configured)
    if data_home := os.environ.get("XDG_DATA_HOME"):
        return Path(data_home) / "vigil" / "index"
    return None


@dataclass
class CliState:
    db_url: str
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        # Imported on first use, with SQLAlchemy: `--help` and usage errors never open a store.
        from vigil.store.db import Store

        if self._store is None:
            self._store = Store(self.db_url, index_root=_index_root())
        return self._store

    def actor(self) -> Actor:
        """Who this command acts as: ``VIGIL_USER`` (``[AGENCY/]NAME``), else the admin."""
        from vigil.workflows.operation.setup import find_actor

        return find_actor(self.store(), os.environ.get("VIGIL_USER") or "admin")


# `vigil --help` lists commands in the order an investigation runs them; commands not named
# here (added by a later module) follow, in the order they were registered.
INVESTIGATION_ORDER = (
    "init",
    "case",
    "hashset",
    "hash",
    "triage",
    "ingest",
    "distribution",
    "resolve",
    "subjects",
    "link",
    "subject",
    "countries",
    "network",
    "refer",
    "referrals",
    "referral",
    "outcome",
    "report",
    "export",
    "audit",
    "synth",
    "demo",
)


class InvestigationOrder(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = super().list_commands(ctx)
        known = {name: i for i, name in enumerate(INVESTIGATION_ORDER)}
        return sorted(names, key=lambda n: (known.get(n, len(known)), names.index(n)))


app = typer.Typer(
    name="vigil",
    cls=InvestigationOrder,
    help="Vigil: open, offline investigation platform for child-exploitation units.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: str = typer.Option(
        DEFAULT_URL, "--db", envvar="VIGIL_DB", help="Database URL (SQLite file or PostgreSQL)."
    ),
) -> None:
    ctx.obj = CliState(db_url=db)


def state(ctx: typer.Context) -> CliState:
    root_ctx = ctx.find_root()
    if not isinstance(root_ctx.obj, CliState):
        root_ctx.obj = CliState(db_url=DEFAULT_URL)
    return root_ctx.obj
