"""The CLI contract of the foundation: init, case open, audit verify, errors as one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli_runner import run_cli
from vigil.store.db import Store


def test_init_case_and_verify_through_the_cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "pw")
    result = run_cli("--db", db_url, "init", "--agency", "CEOP", "--country", "gb")
    assert result.exit_code == 0, result.stderr
    assert "agency CEOP" in result.stdout
    assert run_cli("--db", db_url, "case", "open", "OP-7", "--title", "Seven").exit_code == 0
    verified = run_cli("--db", db_url, "audit", "verify")
    assert verified.exit_code == 0
    assert "intact: 3 entries" in verified.stdout

    store = Store(db_url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE id = 3"))
    store.dispose()
    broken = run_cli("--db", db_url, "audit", "verify")
    assert broken.exit_code == 2
    assert broken.stderr.strip() == (
        "vigil: error: audit chain broken at entry 3: its contents were changed "
        "(2 entries verified before it)"
    )


def test_db_url_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert run_cli("init", "--agency", "ENV").exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_default_database_is_vigil_db_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run_cli("init", "--agency", "HERE").exit_code == 0
    assert (tmp_path / "vigil.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "--agency", "bad code"], "agency code must be"),
        (["init", "--agency", "X", "--country", "Canada"], "ISO 3166 alpha-2"),
        # two letters are not a country: only assigned ISO 3166-1 codes are
        (["init", "--agency", "X", "--country", "XX"], "ISO 3166 alpha-2"),
        (["init", "--agency", "X", "--country", "zz"], "ISO 3166 alpha-2"),
        (["init", "--agency", "X", "--country", "1A"], "ISO 3166 alpha-2"),
        (["case", "open"], "Missing argument"),
        (["nonsense"], "No such command"),
        (["--db", "sqlite:////no/such/dir/x.db", "init", "--agency", "X"], "no such directory"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_DB", f"sqlite:///{tmp_path / 'v.db'}")
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("vigil: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unexpected_errors_are_logged_not_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigil.workflows.operation.setup as setup
    from vigil.cli import app

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(setup, "open_case", explode)
    monkeypatch.setenv("VIGIL_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("VIGIL_DB", f"sqlite:///{tmp_path / 'v.db'}")
    assert app is not None
    assert run_cli("init", "--agency", "T").exit_code == 0
    result = run_cli("case", "open", "X")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "RuntimeError: boom" in result.stderr
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    result = run_cli("--db", f"sqlite:///{tmp_path / 'none.db'}", "case", "open", "X")
    assert result.exit_code == 2
    assert "vigil init" in result.stderr
    assert not (tmp_path / "none.db").exists()


def _imported_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after ``statement``."""
    import subprocess
    import sys

    probe = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


# Each of these took a tenth of a second or more of every command's start-up (igraph imports
# matplotlib.pyplot itself): a command that needs one imports it where it is used.
HEAVY_MODULES = ("igraph", "matplotlib", "networkx", "av", "fastapi", "reportlab", "splink")


def test_the_cli_starts_without_the_heavy_engines_or_the_database_layer() -> None:
    assert _imported_by("import vigil.cli", (*HEAVY_MODULES, "sqlalchemy", "duckdb")) == []


def test_triage_loads_no_engine_it_does_not_run() -> None:
    assert _imported_by("import vigil.workflows.media.triage", HEAVY_MODULES) == []
