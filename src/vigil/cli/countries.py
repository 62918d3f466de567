"""`vigil countries`: decide every subject's country again, as an explicit recompute.

Nothing needs it: ``resolve`` (and everything that changes the evidence after it) already
places each subject. It stays for an analyst who wants the full recompute and its summary.
"""

from __future__ import annotations

import typer

from vigil.cli.app import state
from vigil.cli.output import print_json, print_note, print_table


def countries_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Decide each subject's country again: subscriber return, provider location, then IP
    majority."""
    from vigil.workflows.network.countries import assign_countries
    from vigil.workflows.network.refresh import what_to_run_first

    store = state(ctx).store()
    if hint := what_to_run_first(store):
        print_note(hint)
    summary = assign_countries(store, state(ctx).actor())
    if as_json:
        print_json(summary.as_json())
        return
    print_table(
        "countries", ["country", "subjects"], [[cc, n] for cc, n in summary.by_country.items()]
    )


def register(app: typer.Typer) -> None:
    app.command("countries")(countries_command)
