"""Every file of a synthetic operation is a valid instance of its format (docs/formats.md)."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

from tests.synth_cache import synth_operation
from tests.synth_readers import Observed, read_chat, read_irc

PHPBB_COLUMNS = {
    "phpbb_users": {
        "user_id",
        "username",
        "username_clean",
        "user_email",
        "user_ip",
        "user_regdate",
    },
    "phpbb_posts": {
        "post_id",
        "topic_id",
        "forum_id",
        "poster_id",
        "poster_ip",
        "post_time",
        "post_subject",
        "post_text",
    },
    "phpbb_topics": {"topic_id", "forum_id", "topic_title", "topic_poster"},
    "phpbb_attachments": {
        "attach_id",
        "post_msg_id",
        "poster_id",
        "real_filename",
        "filesize",
        "mimetype",
        "filetime",
        "sha256",
    },
    "phpbb_config": {"config_name", "config_value"},
}
ISP_HEADER = (
    "ip,start_utc,end_utc,isp,subscriber_name,subscriber_email,subscriber_phone,street,"
    "city,region,country,account_id,request_ref"
)
VICS_MEDIA_FIELDS = {
    "MediaID",
    "Category",
    "MD5",
    "SHA1",
    "PhotoDNA",
    "MediaSize",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "Series",
    "Tags",
    "Comments",
    "AlternativeHashes",
    "MediaFiles",
}
HEX = {32: "md5", 40: "sha1", 64: "sha256"}


@pytest.fixture(scope="session")
def operation() -> Path:
    """Seed 1 at small scale, generated once per test process (shared with other areas)."""
    return synth_operation(1)


@pytest.fixture(scope="module")
def truth(operation: Path) -> dict[str, Any]:
    return json.loads((operation / "truth.json").read_text(encoding="utf-8"))


def test_contract_layout(operation: Path, truth: dict[str, Any]) -> None:
    for relative in [
        "hashsets/known-vics2.json",
        "hashsets/known-vics1.json",
        "hashsets/nsrl-rds.db",
        "hashsets/NSRLFile.txt",
        "hashsets/icse-baseline.csv",
        "forum/phpbb.sqlite",
    ]:
        assert (operation / relative).stat().st_size > 0, relative
    assert list((operation / "irc").glob("*/#*.log"))
    assert list((operation / "chat").glob("*.jsonl"))
    assert list((operation / "cybertip").glob("*.xml"))
    assert list((operation / "isp").glob("*.csv"))
    for device in truth["devices"]:
        assert (operation / device["path"]).is_dir()
    every = [p for p in operation.rglob("*") if p.is_file()]
    assert all(p.stat().st_size > 0 for p in every), "no zero-byte files"
    sources = {s["path"] for s in truth["sources"]} | {h["path"] for h in truth["hashsets"]}
    assert all((operation / path).is_file() for path in sources)


def test_phpbb_has_the_design_tables_and_columns(operation: Path) -> None:
    db = sqlite3.connect(operation / "forum" / "phpbb.sqlite")
    try:
        for table, columns in PHPBB_COLUMNS.items():
            found = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            assert columns <= found, (table, columns - found)
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
        sitename = db.execute(
            "SELECT config_value FROM phpbb_config WHERE config_name = 'sitename'"
        ).fetchone()[0]
        assert sitename
        for clean, name in db.execute("SELECT username_clean, username FROM phpbb_users"):
            assert clean == name.lower()
        orphans = db.execute(
            "SELECT count(*) FROM phpbb_attachments a LEFT JOIN phpbb_posts p "
            "ON a.post_msg_id = p.post_id WHERE p.post_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        mismatched = db.execute(
            "SELECT count(*) FROM phpbb_topics t JOIN phpbb_posts p "
            "ON p.post_id = t.topic_first_post_id "
            "WHERE p.poster_id != t.topic_poster OR p.post_time != t.topic_time"
        ).fetchone()[0]
        assert mismatched == 0
        assert all(
            re.fullmatch(r"[0-9a-f]{64}", sha)
            for (sha,) in db.execute("SELECT sha256 FROM phpbb_attachments")
        )
    finally:
        db.close()


def test_irc_logs_are_irssi_lines(operation: Path, truth: dict[str, Any]) -> None:
    logs = [s for s in truth["sources"] if s["format"] == "irc"]
    assert len(logs) >= 2
    observed = Observed()
    for source in logs:
        path = operation / source["path"]
        text = path.read_text(encoding="utf-8")
        assert text.startswith("--- Log opened ")
        assert path.name.startswith("#") and f"has joined {path.stem}" in text
        read_irc(path, source["platform"], observed)  # raises on any unknown line
    assert observed.sends, "DCC SEND lines"


def test_chat_jsonl_contract(operation: Path, truth: dict[str, Any]) -> None:
    allowed = {
        "platform",
        "room",
        "ts",
        "sender",
        "sender_id",
        "sender_ip",
        "recipients",
        "text",
        "attachments",
    }
    dms = 0
    for source in (s for s in truth["sources"] if s["format"] == "chat-jsonl"):
        records = read_chat(operation / source["path"], Observed())
        assert records
        for record in records:
            assert set(record) <= allowed and record["platform"] == source["platform"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", record["ts"])
            if record["room"] is None:
                assert record["recipients"], record
                dms += 1
            for attachment in record.get("attachments", []):
                assert {"name", "sha256"} <= set(attachment)
                assert set(attachment) <= {"name", "size", "md5", "sha1", "sha256", "pdq"}
                for key in ("md5", "sha1", "sha256", "pdq"):
                    if key in attachment:
                        assert re.fullmatch(r"[0-9a-f]+", attachment[key])
    assert dms > 10


def test_cybertip_reports_carry_the_ncmec_elements(operation: Path) -> None:
    files = sorted((operation / "cybertip").glob("*.xml"))
    roots = [SafeET.parse(path).getroot() for path in files]
    assert {r.tag for r in roots} == {"report", "reports"}
    reports = [r for root in roots for r in ([root] if root.tag == "report" else list(root))]
    services = set()
    for report in reports:
        assert report.findtext("incidentSummary/incidentType")
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
            report.findtext("incidentSummary/incidentDateTime") or "",
        )
        assert report.find("internetDetails") is not None
        assert "@" in (report.findtext("reporter/reportingPerson/email") or "")
        reported = report.find("personOrUserReported")
        assert reported is not None
        services.add(reported.findtext("espService"))
        assert reported.findtext("screenName")
        assert re.fullmatch(r"[A-Z]{2}", reported.findtext("estimatedLocation/countryCode") or "")
        for event in reported.findall("ipCaptureEvent"):
            assert event.findtext("ipAddress") and event.findtext("dateTime")
            assert event.findtext("possibleProxy") in {"true", "false"}
        details = report.findall("fileDetails")
        assert details
        for detail in details:
            assert detail.findtext("fileId") and detail.findtext("originalFileName")
            hashes = detail.findall("originalFileHash")
            assert any(h.get("hashType") == "MD5" for h in hashes)
            for item in hashes:
                assert HEX[len(item.text or "")] == item.get("hashType", "").lower()
    assert 2 <= len(services) <= 3
    text = "".join(path.read_text() for path in files)
    for element in (
        "intendedRecipient",
        "victim",
        "deviceId",
        "phone",
        "email",
        "espIdentifier",
        "profileUrl",
        "personOrUserReportedPerson",
        "firstName",
        "lastName",
        "chatImIncident",
        "chatClient",
        "webPageIncident",
        "url",
        "fileAnnotations",
        "industryClassification",
    ):
        assert f"<{element}>" in text, element
    assert '<originalFileHash hashType="SHA256">' in text


def test_isp_returns_have_the_design_header(operation: Path) -> None:
    files = sorted((operation / "isp").glob("*.csv"))
    assert files
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == ISP_HEADER
        rows = list(csv.DictReader(lines))
        assert rows and len({r["country"] for r in rows}) == 1
        for row in rows:
            assert row["start_utc"] < row["end_utc"] and row["subscriber_name"]


def test_vics_json_shapes(operation: Path) -> None:
    v2 = json.loads((operation / "hashsets" / "known-vics2.json").read_text())
    assert v2["@odata.context"].endswith("#Media")
    raw = (operation / "hashsets" / "known-vics1.json").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    v1 = json.loads(raw.decode("utf-8-sig"))
    assert v1["odata.metadata"].endswith("#Cases")
    media_v1 = v1["value"][0]["Media"]
    assert len(media_v1) == len(v2["value"]) >= 10
    for entry in v2["value"]:
        assert set(entry) >= VICS_MEDIA_FIELDS
        assert isinstance(entry["IsDistributed"], bool)
        pdq = [h["HashValue"] for h in entry["AlternativeHashes"] if h["HashName"] == "PDQ"]
        assert len(pdq) == 1 and re.fullmatch(r"[0-9a-f]{64}", pdq[0])
    for entry in media_v1:
        assert entry["IsDistributed"] in {"true", "false"}
        assert entry["MD5"] == entry["MD5"].upper()
    assert {e["MD5"].lower() for e in media_v1} == {e["MD5"] for e in v2["value"]}


def test_nsrl_both_forms_and_icse(operation: Path) -> None:
    db = sqlite3.connect(operation / "hashsets" / "nsrl-rds.db")
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(FILE)")}
        assert {"sha256", "sha1", "md5", "file_name", "file_size", "package_id"} <= columns
        rds = {row[0].lower() for row in db.execute("SELECT sha1 FROM FILE")}
    finally:
        db.close()
    lines = (operation / "hashsets" / "NSRLFile.txt").read_text().splitlines()
    assert lines[0] == (
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
    )
    legacy = {row["SHA-1"].lower() for row in csv.DictReader(lines)}
    assert rds == legacy and len(rds) >= 10
    icse = (operation / "hashsets" / "icse-baseline.csv").read_text().splitlines()
    assert icse[0].startswith(
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;"
        "Offender identified;Series name"
    )
    rows = list(csv.DictReader(icse, delimiter=";"))
    assert rows and all(re.fullmatch(r"[0-9A-F]{32}", r["MD5"]) for r in rows)


def test_irc_nicks_are_valid_nicks(truth: dict[str, Any]) -> None:
    irc = {s["platform"] for s in truth["sources"] if s["format"] == "irc"}
    nicks = [a["username"] for p in truth["persons"] for a in p["accounts"] if a["platform"] in irc]
    assert nicks
    for nick in nicks:
        assert re.fullmatch(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}", nick), nick
