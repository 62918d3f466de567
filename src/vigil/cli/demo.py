"""`vigil demo`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from vigil.cli.app import state
from vigil.cli.output import console, err_console, print_table
from vigil.machine import cores_here
from vigil.store.constants import DEFAULT_URL

if TYPE_CHECKING:
    from vigil.workflows.operation.demo import DemoResult


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for everything the demo makes."),
    seed: int = typer.Option(1, "--seed"),
    scale: str | None = typer.Option(
        None, "--scale", help="small, seed (about 700 suspects; the default) or large."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", min=1, help="Processes for hashing (default: one per CPU)."
    ),
    federation: bool = typer.Option(
        False,
        "--federation",
        help="Three agencies' nodes on loopback (CA, GB, US; small scale by default): "
        "deconflict, refer, report the outcome back.",
    ),
) -> None:
    """Generate a synthetic operation, run the whole pipeline, print the summary and report."""
    if federation:
        _federation_demo(out, seed, scale or "small")
        return
    from vigil.workflows.operation.demo import run_demo

    scale = scale or "seed"
    db_url = state(ctx).db_url
    chosen_url = None if db_url == DEFAULT_URL else db_url
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("demo", total=None)
        result = run_demo(
            out,
            seed=seed,
            scale=scale,
            db_url=chosen_url,
            jobs=jobs or cores_here(),
            step=lambda name: progress.update(task, description=f"demo: {name}"),
        )
    print_summary(result)


def _federation_demo(out: Path, seed: int, scale: str) -> None:
    from vigil.workflows.federation.story import run_federation_demo

    result = run_federation_demo(
        out, seed=seed, scale=scale, say=lambda line: err_console.print(f"demo: {line}")
    )
    for line in result.lines:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"nodes' databases and keys: {out}/<AGENCY>/")


def print_summary(result: DemoResult) -> None:
    figures = result.report.figures
    print_table(
        "Operation summary",
        ["", "count"],
        [
            ["suspects", figures.suspects],
            ["countries", figures.countries],
            ["victims (from provider reports)", figures.victims],
            ["accounts", figures.accounts],
            ["sources ingested", figures.sources],
            ["dirty values kept verbatim (warnings)", result.operation.dirty_values],
            ["files", figures.files],
            ["known alert files", figures.known_alert_files],
            ["new files", figures.new_files],
            ["series (children still to find)", figures.series],
            ["file sends", figures.file_sends],
            ["referral packages", len(result.referrals)],
        ],
    )
    print_table(
        "Highest priority (administrator, distributors, producers first)",
        ["rank", "subject", "country", "score", "files sent", "recipients"],
        [
            [
                row.rank,
                row.label,
                row.country,
                f"{row.score:.2f}",
                row.files_distributed,
                row.recipients,
            ]
            for row in result.report.distributors[:10]
        ],
    )
    console.print(f"report: {result.paths.report}")
    console.print(f"referral packages: {result.paths.referrals}")
    console.print(f"database: {result.paths.database}")
    console.print(f"done in {result.seconds:.0f} s")
    print_browser_hint(result)


def print_browser_hint(result: DemoResult) -> None:
    """How to look at the demo in the web pages: the server command and a sign-in."""
    from vigil.workflows.operation.demo import DEMO_AGENCY, DEMO_INVESTIGATOR

    root = result.paths.root
    # The command as this one was run (`.venv/bin/vigil` after `make demo`), so it can be pasted.
    program = sys.argv[0] if Path(sys.argv[0]).name == "vigil" else "vigil"
    console.print(
        "open it in a browser: "
        f"{program} --db {result.db_url} serve --evidence-root {result.paths.operation} "
        f"--upload-dir {root}/uploads --referral-dir {root}/referrals",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"then http://127.0.0.1:8000/ and sign in to agency {DEMO_AGENCY} as "
        f"{DEMO_INVESTIGATOR}, password {result.investigator_password}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
