"""Running the real CLI in-process, the way a user's shell would, with its exit code."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from vigil.cli import app
from vigil.cli.errors import run_guarded


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    import typer

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_guarded(typer.main.get_command(app), list(args))
    return CliResult(code, out.getvalue(), err.getvalue())
