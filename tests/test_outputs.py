"""Outputs are written whole or not at all, and their paths are checked before the work
(docs/reliability.md)."""

from __future__ import annotations

import errno

import pytest

from tests.cli_runner import run_cli
from tests.network_store_fixture import populate
from vigil import outputs
from vigil.errors import BadInput, UsageError


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", no_space)


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("the earlier report")
    _full_disk(monkeypatch)

    with pytest.raises(BadInput, match="No space left on device"):
        outputs.write_atomically(target, "a newer report")

    assert target.read_text() == "the earlier report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize(
    "args", [["report", "-o"], ["network", "export", "--format", "gexf", "-o"]]
)
def test_cli_outputs_on_a_full_disk_are_exit_2_and_absent(
    sqlite_store, tmp_path, monkeypatch, args
):
    populate(sqlite_store)
    _full_disk(monkeypatch)
    out = tmp_path / "out.file"

    result = run_cli(*args, str(out))

    assert result.exit_code == 2 and "No space left on device" in result.stderr, result.stderr
    assert list(tmp_path.glob("*out.file*")) == []


def test_output_paths_are_refused_before_the_work(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        outputs.check_output_path(tmp_path / "missing" / "x.json")
    with pytest.raises(UsageError, match="is a folder"):
        outputs.check_output_path(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="not a folder"):
        outputs.check_output_path(tmp_path / "f", directory=True)
