"""The docs stay true: docs/cli.md is every command's `--help`, and the contract is all there.

Regenerate the reference after changing a command:
    VIGIL_REGENERATE_DOCS=1 .venv/bin/pytest tests/test_docs.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.cli_runner import run_cli
from vigil.cli import app

REFERENCE = Path(__file__).parent.parent / "docs" / "cli.md"

# The command-line contract (docs/cli.md): other tools depend on these names.
CONTRACT_COMMANDS = [
    "init",
    "case open",
    "hash",
    "hashset import",
    "hashset export",
    "triage",
    "export case",
    "ingest",
    "distribution",
    "resolve",
    "subjects",
    "link confirm",
    "link reject",
    "subject split",
    "subject merge",
    "network rank",
    "network path",
    "network export",
    "refer",
    "referrals",
    "outcome",
    "report",
    "synth",
    "demo",
    "audit verify",
]


def command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            paths.extend(command_paths(sub, (*prefix, name)))
    return paths


def render_reference(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("VIGIL_DB", raising=False)
    parts = [
        "# Command-line reference",
        "",
        "Every command's `--help`, generated; `tests/test_docs.py` fails when this file drifts.",
        "Regenerate it with `VIGIL_REGENERATE_DOCS=1 .venv/bin/pytest tests/test_docs.py`.",
    ]
    for path in command_paths(typer.main.get_command(app)):
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        parts += ["", f"## vigil {' '.join(path)}".rstrip(), "", "```text"]
        parts += [line.rstrip() for line in result.stdout.strip().splitlines()]
        parts.append("```")
    return "\n".join(parts) + "\n"


def test_cli_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = render_reference(monkeypatch)
    if os.environ.get("VIGIL_REGENERATE_DOCS"):
        REFERENCE.write_text(expected)
    assert REFERENCE.read_text() == expected, "docs/cli.md is stale; see this module's docstring"


def test_every_contract_command_exists_and_is_documented() -> None:
    documented = REFERENCE.read_text()
    for command in CONTRACT_COMMANDS:
        assert f"## vigil {command}\n" in documented, command


def test_every_test_docs_reliability_names_exists() -> None:
    """docs/reliability.md's table says which test proves each behaviour: each must exist.

    A cell names ``tests/test_x.py::name``, ``test_x.py::name`` or ``::name`` (the file named
    last), and ``::Class::method`` for a test in a class.
    """
    import re

    root = Path(__file__).parent.parent
    text = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    missing, named, current = [], 0, None
    for cell in re.findall(r"`([^`]*::[^`]*)`", text):
        file_part, _, names = cell.partition("::")
        if file_part:
            current = root / (file_part if file_part.startswith("tests/") else f"tests/{file_part}")
        assert current is not None, cell
        source = current.read_text(encoding="utf-8") if current.is_file() else ""
        for name in names.split("::"):
            named += 1
            if not re.search(rf"^\s*(def|class) {re.escape(name)}\b", source, re.MULTILINE):
                missing.append(f"{current.name}::{name}")
    assert named > 30 and missing == []
