"""`vigil report -o report.html`."""

from __future__ import annotations

from pathlib import Path

import typer

from vigil.cli.app import state
from vigil.cli.output import print_note


def report_command(
    ctx: typer.Context,
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write."),
) -> None:
    """Write the operation report: one offline HTML file, hashes and figures, never media."""
    from vigil.workflows.network.refresh import what_to_run_first
    from vigil.workflows.operation.report import write_report

    store = state(ctx).store()
    if hint := what_to_run_first(store):
        print_note(hint)
    data = write_report(store, state(ctx).actor(), output)
    typer.echo(
        f"wrote {output}: {data.figures.suspects} suspects in {data.figures.countries} "
        f"countries, {data.figures.referrals} referrals, {data.figures.outcomes} outcomes"
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
