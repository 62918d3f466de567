"""Referral soundness (docs/reliability.md): verify trusts the store's record and the node's
signature, never the manifest inside the package; refer run twice makes nothing new; a full
disk leaves no half-written package."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.test_refer import _prepare
from vigil.store.db import Store


def _forge(package: Path) -> None:
    """Append bytes to the PDF and make the manifest's hashes agree again."""
    pdf = package / "summary.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"% appended\n")
    manifest = json.loads((package / "manifest.json").read_bytes())
    for item in manifest["package_files"]:
        data = (package / item["name"]).read_bytes()
        item["sha256"], item["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def test_a_forged_package_fails_verify_wherever_it_is(store: Store, tmp_path: Path) -> None:
    _prepare(store)
    assert run_cli("refer", "--all", "-o", str(tmp_path / "out")).exit_code == 0
    (package,) = [p for p in (tmp_path / "out").iterdir() if p.name.endswith("-0001")]
    moved = tmp_path / "received" / package.name
    shutil.copytree(package, moved)
    assert run_cli("referral", "verify", str(moved)).exit_code == 0

    _forge(moved)
    result = run_cli("referral", "verify", str(moved))

    assert result.exit_code == 2
    assert "the referral recorded" in result.stderr
    if store.dialect == "sqlite":  # keys beside the database; PostgreSQL needs a node first
        assert "signature does not verify" in result.stderr


def test_an_unknown_unsigned_package_cannot_vouch_for_itself(store, tmp_path) -> None:
    _prepare(store)
    assert run_cli("refer", "--all", "-o", str(tmp_path / "out")).exit_code == 0
    (package,) = [p for p in (tmp_path / "out").iterdir() if p.name.endswith("-0001")]
    (package / "manifest.sig").unlink(missing_ok=True)
    manifest = json.loads((package / "manifest.json").read_bytes())
    manifest["reference"] = "XX-ZZ-9999"
    (package / "manifest.json").write_text(json.dumps(manifest))
    copy = tmp_path / "copy"
    shutil.copytree(package, copy)

    result = run_cli("referral", "verify", str(copy))

    assert result.exit_code == 2 and "cannot vouch for itself" in result.stderr


def test_refer_twice_makes_no_second_set(store: Store, tmp_path: Path) -> None:
    _prepare(store)
    first = json.loads(run_cli("refer", "--all", "-o", str(tmp_path / "a"), "--json").stdout)
    second = run_cli("refer", "--all", "-o", str(tmp_path / "b"), "--json")

    assert second.exit_code == 0, second.stderr
    assert [r["id"] for r in json.loads(second.stdout)] == [r["id"] for r in first]
    assert len(json.loads(run_cli("referrals", "--json").stdout)) == len(first)
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_a_full_disk_leaves_no_half_written_package(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigil.referral.package as package_module

    _prepare(sqlite_store)
    real_open = Path.open

    def full(self: Path, mode: str = "r", *args, **kwargs):
        if "w" in mode and self.name == "summary.pdf":
            raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(package_module.Path, "open", full)

    result = run_cli("refer", "--all", "-o", str(tmp_path / "out"))

    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []
    assert json.loads(run_cli("referrals", "--json").stdout) == []


def test_a_bad_output_folder_fails_before_any_work(sqlite_store: Store, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli("refer", "--all", "-o", str(tmp_path / "file"))
    assert result.exit_code == 2 and "not a folder" in result.stderr
