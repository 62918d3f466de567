"""`vigil triage` and `vigil export case`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from vigil.cli.app import state
from vigil.cli.output import err_console, print_table
from vigil.machine import cores_here
from vigil.outputs import check_output_path, write_atomically

export_app = typer.Typer(help="Export a case in the field's formats.", no_args_is_help=True)
REFUSALS_SHOWN = 20


class _RatesColumn(ProgressColumn):
    """Files per second and megabytes per second since the start."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        files_s = task.completed / elapsed
        mb_s = task.fields.get("bytes", 0) / elapsed / 1e6
        return Text(f"{files_s:,.0f} files/s  {mb_s:,.1f} MB/s", style="progress.data.speed")


def triage_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A folder, zip/tar archive, or raw/E01 disk image."),
    case: str = typer.Option(..., "--case", help="Case reference the evidence belongs to."),
    jobs: int | None = typer.Option(
        None, "--jobs", help="Hashing processes (default: one per CPU)."
    ),
    summary_json: Path | None = typer.Option(
        None, "--summary-json", help="Also write the summary counts to this JSON file."
    ),
    owner: str | None = typer.Option(
        None, "--owner", help="platform:username of the person the device was seized from."
    ),
    exhibit: str | None = typer.Option(
        None, "--exhibit", help="Exhibit reference: names this item as one exhibit of the case."
    ),
    batch_files: int | None = typer.Option(None, "--batch-files", hidden=True),
) -> None:
    """Triage seized media: hash, match, group new series; resumes if interrupted."""
    # Imported here so that other commands do not pay for the hashing and matching engines.
    from vigil.workflows.media.triage import DEFAULT_BATCH_FILES, TriageProbes, triage

    if summary_json is not None:
        check_output_path(summary_json)
    store = state(ctx).store()
    with Progress(
        SpinnerColumn(),
        TextColumn("triage"),
        TextColumn("{task.completed:,.0f} files"),
        _RatesColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("triage", total=None, bytes=0)
        totals = {"bytes": 0}

        def advance(files: int, size_bytes: int) -> None:
            totals["bytes"] += size_bytes
            bar.update(task, advance=files, bytes=totals["bytes"])

        result = triage(
            store,
            state(ctx).actor(),
            path,
            case,
            jobs=cores_here() if jobs is None else jobs,
            batch_files=batch_files or DEFAULT_BATCH_FILES,
            progress=advance,
            owner=owner,
            exhibit=exhibit,
            probes=TriageProbes.from_environment(os.environ),
        )
    summary = result.summary.as_dict()
    if result.skipped_files:
        err_console.print(
            f"resumed: {result.skipped_files} files were already committed by an earlier run"
        )
    for refusal in result.refusals[:REFUSALS_SHOWN]:
        err_console.print(f"refused: {refusal.path}: {refusal.reason}", markup=False)
    if len(result.refusals) > REFUSALS_SHOWN:
        err_console.print(f"... and {len(result.refusals) - REFUSALS_SHOWN} more refused")
    if summary_json is not None:
        write_atomically(summary_json, json.dumps(summary, indent=2) + "\n")
    print_table(
        f"Triage of {path} (case {case})",
        ["count", "value"],
        [
            [key, f"{value:,}" if isinstance(value, int) else value]
            for key, value in summary.items()
        ],
    )


@export_app.command("case")
def export_case_command(
    ctx: typer.Context,
    reference: str = typer.Argument(..., help="Case reference."),
    export_format: str = typer.Option("vics", "--format", help="vics (VICS 2.0 #Cases)."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
) -> None:
    """Write a case's files (hashes and metadata, never media) as VICS 2.0 #Cases."""
    from vigil.workflows.media.triage_export import export_case

    count = export_case(state(ctx).store(), state(ctx).actor(), reference, output, export_format)
    typer.echo(f"wrote {count} media of case {reference} to {output}")


def register(app: typer.Typer) -> None:
    app.command("triage")(triage_command)
    app.add_typer(export_app, name="export")
