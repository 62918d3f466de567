"""The command line: a thin layer that parses arguments, calls workflows and prints.

Each module in this package adds its commands through ``register(app)``; the package finds
them itself, so adding a command never means editing a central list. ``main`` is the one
place where errors become output: a ``VigilError`` is one line on stderr and exit code 2; any
other exception is one line naming the log file that holds its trace.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from vigil.cli.app import app
from vigil.cli.errors import run_guarded

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _module.name not in {"app", "errors", "output"}:
        importlib.import_module(f"{__name__}.{_module.name}").register(app)


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    sys.exit(run_guarded(command, argv))


__all__ = ["app", "main"]
