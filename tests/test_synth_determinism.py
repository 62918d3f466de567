"""Same seed, byte-identical operation; another seed, another operation; the CLI edge."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.synth_cache import synth_operation
from vigil.synth.generate import generate


@pytest.fixture(scope="session")
def operation() -> Path:
    """Seed 1 at small scale, generated once per test process (shared with other areas)."""
    return synth_operation(1)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(operation: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=1, scale="small")
    assert (again / "truth.json").read_bytes() == (operation / "truth.json").read_bytes()
    first, second = _digests(operation), _digests(again)
    assert len(first) > 100
    assert first == second


def test_cli_writes_another_operation_for_another_seed(
    operation: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "seed2"
    result = run_cli("synth", str(out), "--seed", "2", "--scale", "small")
    assert result.exit_code == 0, result.stderr
    assert "truth.json" in result.stdout
    truth1 = json.loads((operation / "truth.json").read_text())
    truth2 = json.loads((out / "truth.json").read_text())
    assert truth2["seed"] == 2
    names1 = {a["username"] for p in truth1["persons"] for a in p["accounts"]}
    names2 = {a["username"] for p in truth2["persons"] for a in p["accounts"]}
    assert len(names1 & names2) < len(names1) // 4
    shared = set(_digests(operation).values()) & set(_digests(out).values())
    assert len(shared) < 5  # at most fixed boilerplate, never the operation's content


def test_cli_refuses_bad_scale_and_foreign_folder(tmp_path: Path) -> None:
    result = run_cli("synth", str(tmp_path / "x"), "--scale", "huge")
    assert result.exit_code == 2 and "scale" in result.stderr
    assert not (tmp_path / "x").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not ours")
    result = run_cli("synth", str(foreign))
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert (foreign / "keep.txt").read_text() == "not ours"
    assert not list(tmp_path.glob(".*partial"))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = run_cli("synth", str(a_file))
    assert result.exit_code == 2 and "is a file" in result.stderr
