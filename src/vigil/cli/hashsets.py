"""`vigil hashset import|export|list`: translate arguments, call the hash-set workflow."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from vigil.cli.app import state
from vigil.cli.output import err_console, print_json, print_table
from vigil.errors import UsageError
from vigil.formats.registry import HASHSET_FORMATS

hashset_app = typer.Typer(help="Banks of known hashes (VICS, NSRL, ICSE...).", no_args_is_help=True)


def _check_format(value: str) -> str:
    names = HASHSET_FORMATS.names()
    if value not in names:
        raise UsageError(f"unknown hash-set format {value!r}; choose one of: {', '.join(names)}")
    return value


@hashset_app.command("import")
def hashset_import(
    ctx: typer.Context,
    format_name: str = typer.Argument(
        ..., metavar="FORMAT", help="vics, nsrl, icse, hashdeep or list (from the registry)."
    ),
    path: Path = typer.Argument(..., help="The hash-set file."),
    name: str = typer.Option(
        ..., "--name", help="Name of the set; importing it again replaces it."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="alert (known illicit) or ignorable (known good); nsrl is ignorable."
    ),
    pdq_radius: int | None = typer.Option(
        None, "--pdq-radius", help="PDQ near-match radius in bits for this set (default 31)."
    ),
    hash_type: str | None = typer.Option(
        None, "--hash-type", help="For `list`: md5, sha1, sha256 or pdq (64 hex needs it)."
    ),
    append: bool = typer.Option(
        False,
        "--append",
        help="Add the file's entries to the set (a delta) instead of replacing it; "
        "the match index indexes only the new entries.",
    ),
) -> None:
    """Import a hash set; all or nothing, a bad line names file and line."""
    from vigil.workflows.media.hashsets import import_hash_set

    _check_format(format_name)
    with Progress(
        SpinnerColumn(),
        TextColumn("importing {task.fields[name]}: {task.completed:,} entries"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("import", total=None, name=name)
        result = import_hash_set(
            state(ctx).store(),
            state(ctx).actor(),
            format_name,
            path,
            name=name,
            kind=kind,
            pdq_radius_bits=pdq_radius,
            hash_type=hash_type,
            progress=lambda done: bar.update(task, completed=done),
            append=append,
        )
    if result.unchanged:
        verb = "unchanged (same file already imported):"
    elif result.appended:
        verb = f"appended {result.appended} entries to"
    else:
        verb = "replaced" if result.replaced else "imported"
    typer.echo(
        f"{verb} hash set {result.name} (id {result.hash_set_id}, {result.kind}): "
        f"{result.entries} entries"
    )


@hashset_app.command("export")
def hashset_export(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the hash set."),
    format_name: str = typer.Option("vics", "--format", help="Output format (vics: VICS 2.0)."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
) -> None:
    """Export a hash set (VICS 2.0 #Media) that Vigil and other tools re-import."""
    from vigil.workflows.media.hashsets import export_hash_set

    _check_format(format_name)
    count = export_hash_set(state(ctx).store(), state(ctx).actor(), name, format_name, output)
    typer.echo(f"wrote {count} entries of {name} to {output}")


@hashset_app.command("list")
def hashset_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """The hash sets in the database."""
    from vigil.workflows.media.hashsets import list_hash_sets

    sets = list_hash_sets(state(ctx).store())
    if as_json:
        print_json(sets)
        return
    print_table(
        "hash sets",
        ["id", "name", "kind", "format", "entries", "pdq radius", "imported"],
        [
            [s.id, s.name, s.kind, s.format, s.entries, s.pdq_radius_bits, s.imported_at]
            for s in sets
        ],
    )


@hashset_app.command("index")
def hashset_index(ctx: typer.Context) -> None:
    """Build or update the cached match index now (triage would otherwise do it first)."""
    from vigil.workflows.media.hashsets import refresh_index

    status = refresh_index(state(ctx).store())
    where = status.directory or "memory only"
    typer.echo(
        f"match index up to date: {status.entries} entries, {status.hash_sets} sets ({where})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(hashset_app, name="hashset")
