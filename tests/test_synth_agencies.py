"""`vigil synth --agencies`: the operation split the way the story split it, and truth.json's
shared selectors checked against the bytes each agency's folder holds."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import run_cli


def test_split_folders_and_shared_selectors(tmp_path: Path) -> None:
    out = tmp_path / "op"
    made = run_cli("synth", str(out), "--seed", "2", "--agencies", "ca,GB,US")
    assert made.exit_code == 0, made.stderr
    truth = json.loads((out / "truth.json").read_text())
    agencies = truth["agencies"]
    assert sorted(agencies) == ["CA", "GB", "US"]
    assert agencies["CA"]["holds"] == ["chat", "irc", "isp"]
    assert agencies["GB"]["holds"] == ["devices", "forum", "isp"]
    assert agencies["US"]["holds"] == ["cybertip", "isp"]
    assert not (out / "agencies" / "CA" / "forum").exists()
    folder_bytes = {
        code: b"".join(
            p.read_bytes() for p in sorted((out / "agencies" / code).rglob("*")) if p.is_file()
        ).lower()
        for code in agencies
    }
    shared = truth["shared_selectors"]
    assert len(shared) >= 10
    for selector in shared:
        assert len(selector["agencies"]) >= 2
        if selector["kind"] in ("email", "ip"):
            for code in selector["agencies"]:  # written in that agency's own evidence
                assert selector["value"].encode() in folder_bytes[code], (selector, code)
    isp_countries = {
        code: {p.name.rsplit("-", 1)[-1] for p in (out / "agencies" / code / "isp").iterdir()}
        for code in agencies
    }
    assert isp_countries == {"CA": {"ca.csv"}, "GB": {"gb.csv"}, "US": {"us.csv"}}


def test_bad_agency_lists_are_refused(tmp_path: Path) -> None:
    for bad in ("CA", "CA,CA", "CA,GBR"):
        result = run_cli("synth", str(tmp_path / "x"), "--agencies", bad)
        assert result.exit_code == 2 and "--agencies takes two or more" in result.stderr
        assert not (tmp_path / "x").exists()
