"""`vigil ingest FORMAT PATH --case REF` and `vigil distribution`."""

from __future__ import annotations

from enum import Enum

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.cli.app import state
from vigil.cli.output import err_console, print_json, print_table
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_records import ParseOptions

# FORMAT choices come from the registry, so a new parser module is a new choice.
SourceFormat = Enum(  # type: ignore[misc]  # built from the registry at import, by design
    "SourceFormat", {name: name for name in SOURCE_FORMATS.names()}, type=str
)


def ingest_command(
    ctx: typer.Context,
    format_name: SourceFormat = typer.Argument(..., metavar="FORMAT", help="Source format."),
    path: str = typer.Argument(
        ...,
        metavar="PATH",
        help="File, directory of files, or (phpbb) a SQLite file or SQLAlchemy URL.",
    ),
    case: str = typer.Option(..., "--case", help="Case reference the source belongs to."),
    platform: str | None = typer.Option(
        None, "--platform", help="Account platform (IRC network, forum name...)."
    ),
    prefix: str = typer.Option("phpbb_", "--prefix", help="phpBB table prefix."),
    tz: str | None = typer.Option(
        None, "--tz", help="Time zone of naive log times (irc), e.g. Europe/Berlin; default UTC."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Read a provider report, chat log, forum database or subscriber return into the case."""
    # Imported here so that other commands do not pay for the ingest engine at start-up.
    from vigil.workflows.sources.ingest import ingest, ingest_json
    from vigil.workflows.sources.provenance import SHOWN_WARNINGS

    options = ParseOptions(platform=platform, tz=tz, table_prefix=prefix)
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("", total=None, visible=False)

        def advance(done: int, total: int, name: str) -> None:
            if total > 1:
                progress.update(task, completed=done, total=total, description=name, visible=True)

        summary = ingest(
            state(ctx).store(), state(ctx).actor(), format_name.value, path, case, options, advance
        )
    totals = summary.totals()
    if as_json:
        print_json(ingest_json(summary))
        return
    typer.echo(
        f"{format_name.value}: {totals['new_sources']} new source(s), "
        f"{totals['already_ingested']} already ingested; {totals['records']} records, "
        f"{totals['accounts']} accounts, {totals['sightings']} sightings, "
        f"{totals['events']} events, {totals['files']} files ({totals['files_new']} new), "
        f"{totals['warnings']} warning(s)"
        + (
            f", {totals['dirty_values']} of them dirty value(s) kept verbatim on their sightings"
            if totals["dirty_values"]
            else ""
        )
    )
    for document in summary.documents:
        for warning in document.warnings[:SHOWN_WARNINGS]:
            err_console.print(f"warning: {document.name}: {warning}", markup=False)


def distribution_command(
    ctx: typer.Context,
    case: str | None = typer.Option(None, "--case", help="Only this case's sources."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    top: int | None = typer.Option(None, "--top", help="Only the N biggest senders."),
) -> None:
    """Files sent, distinct files and distinct recipients per account and per subject."""
    from vigil.workflows.network.distribution import distribution

    report = distribution(state(ctx).store(), state(ctx).actor(), case)
    accounts = report.accounts[:top] if top else report.accounts
    subjects = report.subjects[:top] if top else report.subjects
    if as_json:
        print_json({"accounts": accounts, "subjects": subjects})
        return
    print_table(
        "distribution per account",
        ["platform", "username", "files sent", "distinct files", "recipients", "first", "last"],
        [
            [
                a.platform,
                a.username,
                a.files_sent,
                a.distinct_files_sent,
                a.distinct_recipients,
                a.first_seen,
                a.last_seen,
            ]
            for a in accounts
        ],
    )
    if subjects:
        print_table(
            "distribution per subject",
            ["subject", "label", "files sent", "distinct files", "recipients"],
            [
                [s.subject_id, s.label, s.files_sent, s.distinct_files_sent, s.distinct_recipients]
                for s in subjects
            ],
        )


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("distribution")(distribution_command)
