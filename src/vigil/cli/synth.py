"""`vigil synth`: write a synthetic operation and its ground truth."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.cli.output import err_console


def synth(
    out: Path = typer.Argument(..., help="Folder to write the operation into (new or empty)."),
    seed: int = typer.Option(
        1, "--seed", help="Same seed, same bytes; another seed, another operation."
    ),
    scale: str = typer.Option(
        "small", "--scale", help="small (about 60 suspects), seed (about 700) or large."
    ),
    agencies: str | None = typer.Option(
        None, "--agencies", help="Split it between agencies, e.g. CA,GB,US (agencies/CC/)."
    ),
) -> None:
    """Write every input format of a synthetic, benign operation plus truth.json."""
    from vigil.synth.agencies import parse_agencies
    from vigil.synth.generate import STEPS, generate

    codes = parse_agencies(agencies) if agencies else None

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("synth", total=len(STEPS))

        def step(name: str) -> None:
            progress.update(task, description=f"synth: {name}", completed=STEPS.index(name))

        result = generate(out, seed=seed, scale=scale, step=step, agencies=codes)
        progress.update(task, completed=len(STEPS))
    typer.echo(
        f"wrote {result.persons} persons, {result.sources} sources and {result.devices} "
        f"devices to {result.out} ({result.seconds:.1f} s); truth: {result.truth_path}"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
