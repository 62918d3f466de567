"""Referral packages and outcomes through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.network_store_fixture import populate
from vigil.referral.package import MEDIA_SIGNATURES, media_problem, verify_package
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Outcome, ReferralStatus


def _prepare(store: Store) -> dict[str, int]:
    ids = populate(store)
    assert run_cli("network", "rank", "--json").exit_code == 0
    assert run_cli("countries").exit_code == 0
    return ids.subjects


def test_refer_all_writes_one_verifiable_package_per_country(store: Store, tmp_path: Path) -> None:
    subjects = _prepare(store)
    result = run_cli("refer", "--all", "-o", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.stderr
    made = json.loads(result.stdout)
    assert [r["country"] for r in made] == ["AU", "CA", "DE", "GB"]
    listed = json.loads(run_cli("referrals", "--json").stdout)
    assert [r["id"] for r in listed] == [r["id"] for r in made]
    for referral in listed:
        assert set(referral) >= {"id", "country", "subjects", "status", "package", "sha256"}
        assert referral["status"] == "prepared"
        package = Path(referral["package"])
        manifest_bytes = (package / "manifest.json").read_bytes()
        assert hashlib.sha256(manifest_bytes).hexdigest() == referral["sha256"]
        manifest = json.loads(manifest_bytes)
        assert manifest["country"] == referral["country"]
        assert [s["id"] for s in manifest["subjects"]] == referral["subjects"]
        listed_names = {f["name"] for f in manifest["package_files"]}
        assert listed_names == {p.name for p in package.iterdir()} - {
            "manifest.json",
            "manifest.sig",
        }
        for item in manifest["package_files"]:
            data = (package / item["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["sha256"]
            assert media_problem(item["name"], data) is None
            assert not any(data[o : o + len(sig)] == sig for o, sig in MEDIA_SIGNATURES)
        assert (package / "summary.pdf").read_bytes().startswith(b"%PDF")
        assert manifest["media_included"] is False
        check = run_cli("referral", "verify", str(package))
        assert check.exit_code == 0, check.stderr
    ca = next(r for r in listed if r["country"] == "CA")
    assert ca["subjects"] == [subjects["admin"]]
    manifest = json.loads((Path(ca["package"]) / "manifest.json").read_text())
    admin = manifest["subjects"][0]
    assert ("Parley", "Son_of_god") in {(a["platform"], a["username"]) for a in admin["accounts"]}
    assert {"kind": "ip", "value": "24.48.0.1"} not in admin["selectors"]  # only linked ones
    assert admin["country_basis"].startswith("ISP subscriber return")
    evidence = manifest["evidence"]
    assert evidence["file_counts"] == {"total": 4, "known_alert": 4, "new": 0}
    assert evidence["event_counts"] == {"file_transfer": 11}
    assert all(len(f["sha256"]) == 64 for f in evidence["files"])
    assert {s["kind"] for s in manifest["sources"]} >= {"chat-jsonl", "irc"}
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"])
    au = json.loads((Path(listed[0]["package"]) / "manifest.json").read_text())
    assert au["evidence"]["file_counts"]["new"] == 2  # the producer's series


def test_tampering_makes_verify_fail(store: Store, tmp_path: Path) -> None:
    _prepare(store)
    run_cli("refer", "--country", "CA", "-o", str(tmp_path))
    package = Path(json.loads(run_cli("referrals", "--json").stdout)[0]["package"])
    assert verify_package(package).ok
    pdf = package / "summary.pdf"
    pdf.write_bytes(pdf.read_bytes().replace(b"Referral", b"Referr4l", 1))
    result = run_cli("referral", "verify", str(package))
    assert result.exit_code == 2
    assert "summary.pdf does not match its SHA-256" in result.stderr
    pdf.unlink()
    (package / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    problems = verify_package(package).problems
    assert "summary.pdf is listed but missing" in problems
    assert "photo.jpg is not listed in the manifest" in problems
    assert any("media" in p for p in problems)
    manifest = package / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"CA"', '"US"', 1))
    result = run_cli("referral", "verify", str(package))
    assert "manifest.json SHA-256" in result.stderr  # differs from the referral's record


def test_outcomes_are_recorded_against_the_referral(store: Store, tmp_path: Path) -> None:
    subjects = _prepare(store)
    run_cli("refer", "--all", "-o", str(tmp_path))
    admin = str(subjects["admin"])
    first = run_cli("outcome", admin, "arrest", "--date", "2007-02-01")
    assert first.exit_code == 0, first.stderr
    assert "recorded arrest" in first.stdout
    again = run_cli("outcome", admin, "arrest", "--date", "2007-02-01")
    assert "already recorded" in again.stdout
    assert run_cli("outcome", "producer", "safeguarded", "--date", "2007-03-05").exit_code == 0
    listed = {r["country"]: r for r in json.loads(run_cli("referrals", "--json").stdout)}
    assert listed["CA"]["status"] == "actioned"
    assert listed["CA"]["outcomes"] == [
        {"subject_id": subjects["admin"], "kind": "arrest", "date": "2007-02-01"}
    ]
    assert listed["AU"]["outcomes"][0]["kind"] == "safeguarded"
    assert listed["GB"]["status"] == "prepared"
    with store.reading() as session:
        assert session.query(Outcome).count() == 2
        statuses = [s.status for s in session.query(ReferralStatus).order_by(ReferralStatus.id)]
        assert statuses.count("actioned") == 2
        assert session.query(AuditEntry).filter_by(action="outcome.record").count() == 2
    report = tmp_path / "report.html"
    assert run_cli("report", "-o", str(report)).exit_code == 0
    html = report.read_text()
    assert 'data-kind="arrest"' in html and 'data-kind="safeguarded"' in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("refer", "-o", "X"), "exactly one of --country CC or --all"),
        (("refer", "--all", "--country", "CA", "-o", "X"), "exactly one of"),
        (("refer", "--country", "Canada", "-o", "X"), "ISO 3166"),
        (("refer", "--country", "JP", "-o", "X"), "no suspects in JP"),
        (("outcome", "admin", "acquitted"), "outcome must be one of"),
        (("outcome", "admin", "arrest", "--date", "yesterday"), "YYYY-MM-DD"),
        (("outcome", "nobody-at-all", "arrest"), "no subject"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(
    sqlite_store: Store, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    _prepare(sqlite_store)
    args = tuple(str(tmp_path / "x") if a == "X" else a for a in args)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_refer_never_overwrites_and_leaves_nothing_half_written(
    sqlite_store: Store, tmp_path: Path
) -> None:
    _prepare(sqlite_store)
    out = tmp_path / "out"
    occupied = out / "TEST-CA-0002"  # where the second package of this run would go
    occupied.mkdir(parents=True)
    (occupied / "keep.txt").write_text("someone else's")
    result = run_cli("refer", "--all", "-o", str(out))
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert (occupied / "keep.txt").read_text() == "someone else's"
    assert sorted(p.name for p in out.iterdir()) == ["TEST-CA-0002"]  # AU removed again
    assert json.loads(run_cli("referrals", "--json").stdout) == []
