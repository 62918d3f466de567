"""`vigil hash PATH...`: one JSON line per file; needs no database."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import Progress

from vigil.cli.errors import EXIT_BAD_INPUT, fail
from vigil.cli.output import err_console, print_json_line

# How many failed files the one stderr line names before it summarises the rest.
NAMED_FAILURES = 10


def hash_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (walked recursively)."),
    jobs: int | None = typer.Option(
        None, "--jobs", min=1, help="Worker processes (default: one per CPU)."
    ),
) -> None:
    """Digests, MIME type by content, PDQ and per-second video PDQ of every file."""
    from vigil.hashing.batch import hash_paths, list_files

    files = list_files(paths)
    failures: list[str] = []
    with Progress(console=err_console, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("hashing", total=len(files))
        for outcome in hash_paths(files, jobs=jobs):
            print_json_line(outcome.as_json())
            if outcome.error:
                failures.append(f"{outcome.path} ({outcome.error})")
            bar.advance(task)
    if failures:
        named = "; ".join(failures[:NAMED_FAILURES])
        more = len(failures) - NAMED_FAILURES
        suffix = f"; and {more} more" if more > 0 else ""
        fail(f"{len(failures)} file(s) not fully processed: {named}{suffix}")
        raise typer.Exit(EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    app.command("hash")(hash_command)
