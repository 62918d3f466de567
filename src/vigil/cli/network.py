"""`vigil network rank|path|export`."""

from __future__ import annotations

from pathlib import Path

import typer

from vigil.cli.app import state
from vigil.cli.output import print_json, print_note, print_table
from vigil.graph.formats import EXPORT_FORMATS

network_app = typer.Typer(
    help="The network: who matters most and how they connect.", no_args_is_help=True
)


@network_app.command("rank")
def rank_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON list instead of a table."),
    top: int | None = typer.Option(None, "--top", min=1, help="Only the first N subjects."),
) -> None:
    """Rank subjects by priority (severity plus network position) and store the scores."""
    from vigil.workflows.network.rank import rank_network, rank_row
    from vigil.workflows.network.refresh import what_to_run_first

    store = state(ctx).store()
    if hint := what_to_run_first(store):
        print_note(hint)
    result = rank_network(store, state(ctx).actor())
    ranking = result.ranking[:top] if top else result.ranking
    if as_json:
        print_json([rank_row(item) for item in ranking])
        return
    print_table(
        "network rank",
        ["#", "subject", "label", "score", "files", "recipients", "degree", "community", "why"],
        [
            [
                i,
                r.subject_id,
                r.label,
                f"{r.score:.1f}",
                r.files_distributed,
                r.recipients,
                r.degree,
                r.community,
                r.reasons[0],
            ]
            for i, r in enumerate(ranking, start=1)
        ],
    )


@network_app.command("path")
def path_command(
    ctx: typer.Context,
    subject_a: str = typer.Argument(..., help="Subject id, label or account username."),
    subject_b: str = typer.Argument(..., help="Subject id, label or account username."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The shortest chain of evidence between two subjects."""
    from vigil.workflows.network.rank import network_path

    path = network_path(state(ctx).store(), subject_a, subject_b)
    if as_json:
        print_json(path)
        return
    if not path.steps:
        typer.echo(f"no chain of evidence links subject {path.subject_a} and {path.subject_b}")
        return
    for step in path.steps:
        typer.echo(f"{step.kind:8} {step.label}")
        if step.evidence:
            typer.echo(f"           -> {step.evidence}")


@network_app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: str = typer.Option(..., "--format", help=" | ".join(EXPORT_FORMATS)),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File (graphml, gexf) or directory (i2: two CSVs)."
    ),
) -> None:
    """Export the evidence graph for Gephi, yEd or i2 Analyst's Notebook."""
    from vigil.workflows.network.rank import export_network

    for path in export_network(state(ctx).store(), state(ctx).actor(), fmt, output):
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(network_app, name="network")
