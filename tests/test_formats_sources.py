"""Every source parser gets the same battery (one shared battery per abstraction).

``SourceFormatBattery`` holds the shared tests: the good fixture parses to known values, a
truncated copy and a badly encoded copy behave as the format promises, and ingesting the
good fixture twice changes nothing. Each subclass names its format, fixture and expectations
and adds the tests that only its format needs (hostile XML, latin-1 logs, missing tables...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from tests.actors import admin_actor
from tests.test_ingest_support import SOURCES, build_phpbb_sqlite, row_counts
from vigil.errors import BadInput, UnsupportedFormat
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_records import (
    ROLE_RECIPIENT,
    ROLE_REPORTED,
    ROLE_VICTIM,
    AccountRef,
    ParsedSource,
    ParseOptions,
)
from vigil.store.db import Store
from vigil.workflows.sources.ingest import ingest

SHA_A = "8eafa3caceb46f0369d79cb4e623c9516f9bdd273580e69d43bc28399fe387e9"
SHA_B = "97fa7db13fb2400d3c093cdedf7e4291c184d011ebf37fd4fe8d18cebb0e32c1"
MD5_A = "5e9f0c9689fb7ec181ea0fb09ad3f74e"


def parse_one(format_name: str, location: Path | str, options: ParseOptions) -> ParsedSource:
    parser = SOURCE_FORMATS.get(format_name)()  # type: ignore[operator]
    documents = list(parser.documents(str(location)))
    assert len(documents) == 1
    return parser.parse(documents[0], options)


def accounts_of(parsed: ParsedSource) -> set[tuple[str, str]]:
    return {
        (s.account.platform, s.account.username)
        for s in parsed.sightings
        if s.account is not None and s.selector is None
    }


class SourceFormatBattery:
    format_name: ClassVar[str]
    options: ClassVar[ParseOptions] = ParseOptions()
    truncated_is_error: ClassVar[bool] = True
    bad_encoding_is_error: ClassVar[bool] = True

    def good_location(self, tmp_path: Path) -> Path:
        raise NotImplementedError

    def check_good(self, parsed: ParsedSource) -> None:
        raise NotImplementedError

    def damaged_copy(self, tmp_path: Path, how: str) -> Path:
        good = self.good_location(tmp_path)
        data = good.read_bytes()
        if how == "truncated":
            data = data[: len(data) * 2 // 3]
        else:  # a cp1252 smart quote and a stray 0xff inside the text
            middle = data.index(b"\n", len(data) // 2)
            data = data[:middle] + b" caf\xe9 \x93quoted\x94 \xff" + data[middle:]
        damaged = tmp_path / f"{how}-{good.name}"
        damaged.write_bytes(data)
        return damaged

    def test_registered_under_its_name(self) -> None:
        assert self.format_name in SOURCE_FORMATS.names()

    def test_good_fixture_parses_to_known_values(self, tmp_path: Path) -> None:
        self.check_good(parse_one(self.format_name, self.good_location(tmp_path), self.options))

    def test_truncated_file(self, tmp_path: Path) -> None:
        damaged = self.damaged_copy(tmp_path, "truncated")
        if self.truncated_is_error:
            with pytest.raises(BadInput) as caught:
                parse_one(self.format_name, damaged, self.options)
            assert damaged.name in str(caught.value)
            assert "\n" not in str(caught.value)
        else:
            parsed = parse_one(self.format_name, damaged, self.options)
            assert parsed.warnings and "cut short" in parsed.warnings[-1]

    def test_bad_encoding(self, tmp_path: Path) -> None:
        damaged = self.damaged_copy(tmp_path, "encoding")
        if self.bad_encoding_is_error:
            with pytest.raises(BadInput) as caught:
                parse_one(self.format_name, damaged, self.options)
            assert damaged.name in str(caught.value)
        else:
            parsed = parse_one(self.format_name, damaged, self.options)
            assert any("latin-1" in w for w in parsed.warnings)

    def test_ingesting_twice_changes_nothing(self, sqlite_store: Store, tmp_path: Path) -> None:
        location = str(self.good_location(tmp_path))
        first = ingest(
            sqlite_store,
            admin_actor(sqlite_store),
            self.format_name,
            location,
            "CASE-1",
            self.options,
        )
        assert first.new_sources == 1
        after_first = row_counts(sqlite_store)
        second = ingest(
            sqlite_store,
            admin_actor(sqlite_store),
            self.format_name,
            location,
            "CASE-1",
            self.options,
        )
        assert second.new_sources == 0 and second.already_ingested == 1
        assert row_counts(sqlite_store) == after_first

    def broken_copy(self, tmp_path: Path) -> Path:
        """A copy that must fail as a whole: by default the truncated one."""
        return self.damaged_copy(tmp_path, "truncated")

    def test_broken_source_writes_nothing(self, sqlite_store: Store, tmp_path: Path) -> None:
        damaged = self.broken_copy(tmp_path)
        before = row_counts(sqlite_store)
        with pytest.raises(BadInput):
            ingest(
                sqlite_store,
                admin_actor(sqlite_store),
                self.format_name,
                str(damaged),
                "CASE-1",
                self.options,
            )
        assert row_counts(sqlite_store) == before


class TestCyberTip(SourceFormatBattery):
    format_name = "cybertip"

    def good_location(self, tmp_path: Path) -> Path:
        return SOURCES / "cybertip" / "single-report.xml"

    def check_good(self, parsed: ParsedSource) -> None:
        assert parsed.records == 1
        by_role = {s.role: s for s in parsed.sightings if s.selector is None}
        reported = by_role[ROLE_REPORTED]
        assert reported.account == AccountRef("Pixelshare", "Son_of_god", "u-77001")
        assert reported.extra is not None
        assert reported.extra["country"] == "CA"
        assert reported.extra["name"] == "Orin Vaskel"
        assert reported.extra["unknown"] == {"accountStatus": ["suspended"]}
        assert reported.extra["report_unknown"] == {"reviewNote": ["kept as extra data"]}
        assert reported.extra["reporter"]["reportingPerson"][0]["email"] == [
            "safety@pixelshare.example"
        ]
        assert by_role[ROLE_RECIPIENT].account == AccountRef("Pixelshare", "john123")
        assert by_role[ROLE_VICTIM].account == AccountRef("Pixelshare", "little_star")
        values = {(s.selector.kind, s.selector.value) for s in parsed.sightings if s.selector}
        assert {
            ("email", "orin.vaskel@mailbox.example"),
            ("phone", "+14165550142"),  # read in estimatedLocation/countryCode CA
            ("ip", "24.114.0.10"),
            ("ip", "2001:db8::1"),
            ("device", "IMEI-356938035643809"),
            ("url", "https://pixelshare.example/u/Son_of_god"),
        } <= values
        captures = [e for e in parsed.events if e.kind == "ip_capture"]
        assert [(e.ip.value, e.extra["possible_proxy"]) for e in captures if e.ip] == [
            ("24.114.0.10", True),
            ("2001:db8::1", False),
            ("24.114.0.11", False),
        ]
        assert captures[0].occurred_at == datetime(2006, 3, 15, 1, 55, tzinfo=UTC)
        uploads = [e for e in parsed.events if e.kind == "upload"]
        assert [(e.file.md5, e.file.sha256) for e in uploads if e.file] == [
            (MD5_A, SHA_A),
            ("eea3f37743bfd3409bec556ab26d4698", None),
        ]
        assert uploads[0].extra and uploads[0].extra["intended_recipients"] == ["john123"]
        assert uploads[0].extra["industryClassification"] == "A1"

    def test_wrapper_holds_many_reports(self) -> None:
        parsed = parse_one("cybertip", SOURCES / "cybertip" / "wrapper.xml", ParseOptions())
        assert parsed.records == 2
        assert accounts_of(parsed) == {("Pixelshare", "KiteRunner"), ("Chatterbox", "son.of.god")}
        assert parsed.extra["services"] == ["Chatterbox", "Pixelshare"]

    @pytest.mark.parametrize(
        "document",
        [
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;">]><report><reportId>&c;</reportId></report>',
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<report><reportId>&x;</reportId></report>",
            b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><report/>',
        ],
        ids=["billion-laughs", "external-entity", "external-dtd"],
    )
    def test_hostile_xml_is_refused_in_one_line(self, tmp_path: Path, document: bytes) -> None:
        path = tmp_path / "hostile.xml"
        path.write_bytes(document)
        with pytest.raises(BadInput) as caught:
            parse_one("cybertip", path, ParseOptions())
        message = str(caught.value)
        assert "hostile.xml" in message and "\n" not in message
        assert "root:" not in message  # /etc/passwd was never read

    @pytest.mark.parametrize(
        ("encoding", "declared"),
        [("UTF-8", True), ("UTF-16", True), ("ISO-8859-1", True), ("UTF-16", False)],
    )
    @pytest.mark.parametrize(
        ("opening", "closing"),
        [('<report xmlns="urn:example:reports">', "</report>"), ("<xml:report>", "</xml:report>")],
        ids=["declared", "xml-prefix"],
    )
    def test_a_report_in_a_namespace_reads_as_one_without(
        self, tmp_path: Path, encoding: str, declared: bool, opening: str, closing: str
    ) -> None:
        """Namespaces are stripped however the document is encoded: ``safe_xml`` skips the
        walk that strips them only in bytes that show there are none (UTF-8, ASCII)."""
        plain_path = SOURCES / "cybertip" / "single-report.xml"
        body = plain_path.read_text().split("?>", 1)[1]
        body = body.replace("<report>", opening, 1).replace("</report>", closing, 1)
        path = tmp_path / "namespaced.xml"
        declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if declared else ""
        path.write_bytes(f"{declaration}{body.lstrip()}".encode(encoding))  # with its BOM
        plain = parse_one("cybertip", plain_path, ParseOptions())
        found = parse_one("cybertip", path, ParseOptions())
        assert found.records == 1
        assert (found.sightings, found.events, found.extra) == (
            plain.sightings,
            plain.events,
            plain.extra,
        )

    def test_malformed_xml_names_its_place_once(self, tmp_path: Path) -> None:
        path = tmp_path / "cut.xml"
        path.write_bytes(b"<report>\n<reportId>CT-1</reportId><email>abc")  # cut short
        with pytest.raises(BadInput) as caught:
            parse_one("cybertip", path, ParseOptions())
        assert str(caught.value) == (
            "cut.xml, line 2, column 36: malformed XML: Premature end of data in tag email line 2"
        )

    def test_not_a_report_is_unsupported_format(self, tmp_path: Path) -> None:
        path = tmp_path / "other.xml"
        path.write_bytes(b"<svg/>")
        with pytest.raises(UnsupportedFormat, match="<svg>"):
            parse_one("cybertip", path, ParseOptions())

    @pytest.mark.parametrize(
        ("old", "new", "needle"),
        [
            ("2006-03-14T21:10:00Z", "2006-02-30T21:10:00Z", "invalid date"),
        ],
    )
    def test_bad_record_names_the_report(
        self, tmp_path: Path, old: str, new: str, needle: str
    ) -> None:
        text = (SOURCES / "cybertip" / "single-report.xml").read_text()
        path = tmp_path / "bad.xml"
        path.write_text(text.replace(old, new, 1))
        with pytest.raises(BadInput, match=needle) as caught:
            parse_one("cybertip", path, ParseOptions())
        assert "report CT-1001" in str(caught.value)

    def test_a_dirty_ip_is_a_warning_naming_the_report(self, tmp_path: Path) -> None:
        text = (SOURCES / "cybertip" / "single-report.xml").read_text()
        path = tmp_path / "bad.xml"
        path.write_text(text.replace("24.114.0.10", "24.114.0.999", 1))
        parsed = parse_one("cybertip", path, ParseOptions())
        assert [d["value"] for d in parsed.dirty] == ["24.114.0.999"]
        assert any("report CT-1001" in w and "impossible IP" in w for w in parsed.warnings)


class TestIrc(SourceFormatBattery):
    format_name = "irc"
    options = ParseOptions(platform="EFnet")
    truncated_is_error = False  # a client that crashed leaves a cut last line: a warning
    bad_encoding_is_error = False  # irssi logs may be latin-1

    def good_location(self, tmp_path: Path) -> Path:
        return SOURCES / "irc" / "#lounge.log"

    def damaged_copy(self, tmp_path: Path, how: str) -> Path:
        if how != "truncated":
            return super().damaged_copy(tmp_path, how)
        data = self.good_location(tmp_path).read_bytes()
        path = tmp_path / "#cut.log"  # cut inside the last DCC SEND's hash, as a crash would
        path.write_bytes(data[: data.rindex(b"sha256=") + 12])
        return path

    def check_good(self, parsed: ParsedSource) -> None:
        assert parsed.extra == {"channel": "#lounge", "network": "EFnet"}
        assert accounts_of(parsed) == {
            ("EFnet", "Son_of_god"),
            ("EFnet", "john123"),
            ("EFnet", "Quiet_one"),
        }
        sends = [e for e in parsed.events if e.kind == "file_transfer"]
        assert [
            (e.actor.username, e.file.sha256, [r.username for r in e.room_recipients])
            for e in sends
            if e.actor and e.file
        ] == [
            ("Son_of_god", SHA_A, ["john123", "Quiet_one"]),
            ("Son_of_god", SHA_B, ["john123"]),
            ("john123", SHA_A, ["Son_of_god"]),
            ("Son_of_god", SHA_A, []),
        ]
        assert sends[2].occurred_at == datetime(2006, 3, 15, 0, 10, tzinfo=UTC)
        assert all(e.room == "#lounge" for e in parsed.events)
        messages = [(e.actor.username, e.text) for e in parsed.events if e.kind == "message"]
        assert messages == [("Son_of_god", "evening all"), ("john123", "hi there")]
        ips = {(s.account.username, s.selector.value) for s in parsed.sightings if s.selector}
        assert ips == {("Son_of_god", "24.114.0.10"), ("john123", "81.2.69.160")}
        modes = [
            (s.account.username, s.extra)
            for s in parsed.sightings
            if s.account and s.selector is None and s.extra
        ]
        assert modes == [("Son_of_god", {"modes": "@", "channel": "#lounge"})]  # once per log

    def broken_copy(self, tmp_path: Path) -> Path:
        lines = self.good_location(tmp_path).read_text().splitlines()
        lines.insert(8, "25:61 < x> late")  # an impossible time, after a DCC SEND
        path = tmp_path / "#broken.log"
        path.write_text("\n".join(lines) + "\n")
        return path

    def test_tz_option_shifts_naive_times(self) -> None:
        parsed = parse_one(
            "irc", SOURCES / "irc" / "#lounge.log", ParseOptions(tz="America/Toronto")
        )
        first = next(e for e in parsed.events if e.kind == "message")
        assert first.occurred_at == datetime(2006, 3, 15, 2, 3, tzinfo=UTC)
        assert first.actor is not None and first.actor.platform == "irc"

    def test_latin1_log_is_read_with_a_warning(self, tmp_path: Path) -> None:
        path = tmp_path / "#cafe.log"
        path.write_bytes(
            b"--- Log opened Tue Mar 14 21:00:00 2006\n"
            b"21:00 -!- Ren\xe9 [~rene@81.2.69.160] has joined #cafe\n21:01 < Ren\xe9> salut\n"
        )
        parsed = parse_one("irc", path, ParseOptions())
        assert accounts_of(parsed) == {("irc", "René")}
        assert parsed.warnings == ["not UTF-8: read as latin-1"]

    @pytest.mark.parametrize(
        ("line", "needle"),
        [
            ("--- Day changed Wed Feb 30 2006", "invalid date"),
            ("25:61 < john123> late", "invalid time"),
        ],
    )
    def test_bad_line_is_named(self, tmp_path: Path, line: str, needle: str) -> None:
        text = (SOURCES / "irc" / "#lounge.log").read_text().splitlines()
        text.insert(3, line)
        path = tmp_path / "#lounge.log"
        path.write_text("\n".join(text) + "\n")
        with pytest.raises(BadInput, match=needle) as caught:
            parse_one("irc", path, ParseOptions())
        assert "line 4" in str(caught.value)

    def test_a_dirty_ip_is_a_warning_naming_the_line(self, tmp_path: Path) -> None:
        text = (SOURCES / "irc" / "#lounge.log").read_text().splitlines()
        text.insert(3, "21:09 -!- x [~x@300.1.2.3] has joined #lounge")
        path = tmp_path / "#lounge.log"
        path.write_text("\n".join(text) + "\n")
        parsed = parse_one("irc", path, ParseOptions())
        assert [(d["location"], d["value"]) for d in parsed.dirty] == [("line 4", "300.1.2.3")]

    def test_not_a_log(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("shopping list\n")
        with pytest.raises(UnsupportedFormat):
            parse_one("irc", path, ParseOptions())


class TestChatJsonl(SourceFormatBattery):
    format_name = "chat-jsonl"

    def good_location(self, tmp_path: Path) -> Path:
        return SOURCES / "chat" / "chatterbox.jsonl"

    def check_good(self, parsed: ParsedSource) -> None:
        assert parsed.records == 4
        assert accounts_of(parsed) >= {("Chatterbox", "son.of.god"), ("Chatterbox", "john123")}
        sends = [e for e in parsed.events if e.kind == "file_transfer"]
        assert [(e.send_key, len(e.targets), e.room) for e in sends] == [
            ("line 2:0", 2, None),
            ("line 2:1", 2, None),
            ("line 3:0", 0, "general"),
            ("line 4:0", 1, None),
        ]
        assert sends[0].file is not None and sends[0].file.md5 == MD5_A
        assert sends[0].occurred_at == datetime(2006, 3, 16, 9, 5, tzinfo=UTC)
        ips = {s.selector.value for s in parsed.sightings if s.selector}
        assert ips == {"24.114.0.10", "2001:db8::1"}

    def test_naive_timestamp_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "naive.jsonl"
        path.write_text(
            '{"platform": "X", "room": "r", "ts": "2006-03-16T10:00:00", "sender": "a"}\n'
        )
        with pytest.raises(BadInput, match="line 1: date without a UTC offset"):
            parse_one("chat-jsonl", path, ParseOptions())


class TestIsp(SourceFormatBattery):
    format_name = "isp"

    def good_location(self, tmp_path: Path) -> Path:
        return SOURCES / "isp" / "maple-broadband.csv"

    def check_good(self, parsed: ParsedSource) -> None:
        ip_rows = [s for s in parsed.sightings if s.selector and s.selector.kind == "ip"]
        assert [s.selector.value for s in ip_rows if s.selector] == ["24.114.0.10", "81.2.69.160"]
        first = ip_rows[0].extra
        assert first is not None
        assert first["subscriber"]["country"] == "CA"
        assert first["subscriber"]["email"] == "orin.vaskel@mailbox.example"
        assert first["subscriber"]["phone"] == "+14165550142"
        assert first["window"] == {
            "start_utc": "2006-03-01T00:00:00+00:00",
            "end_utc": "2006-04-01T00:00:00+00:00",
        }
        assert ip_rows[1].extra and ip_rows[1].extra["window"]["end_utc"] is None
        assert all(s.account is None for s in parsed.sightings)

    def test_wrong_header_is_unsupported(self, tmp_path: Path) -> None:
        path = tmp_path / "other.csv"
        path.write_text("a,b\n1,2\n")
        with pytest.raises(UnsupportedFormat, match="line 1"):
            parse_one("isp", path, ParseOptions())


class TestPhpbb(SourceFormatBattery):
    format_name = "phpbb"
    bad_encoding_is_error = True

    def good_location(self, tmp_path: Path) -> Path:
        path = tmp_path / "board.sqlite"
        return path if path.exists() else build_phpbb_sqlite(path)

    def damaged_copy(self, tmp_path: Path, how: str) -> Path:
        if how == "truncated":
            return super().damaged_copy(tmp_path, how)
        import sqlite3  # a post whose text is not UTF-8

        path = build_phpbb_sqlite(tmp_path / "latin1-board.sqlite")
        connection = sqlite3.connect(path)
        connection.execute("UPDATE phpbb_posts SET post_text = CAST(X'636166E9' AS TEXT)")
        connection.commit()
        connection.close()
        return path

    def check_good(self, parsed: ParsedSource) -> None:
        assert accounts_of(parsed) == {("HobbyBoard", "Son_of_god"), ("HobbyBoard", "john123")}
        posts = [e for e in parsed.events if e.kind == "post"]
        assert [(e.room, e.ip.value if e.ip else None) for e in posts] == [
            ("Announcements / Welcome", "24.114.0.10"),
            ("Photo exchange / Holiday pictures", "81.2.69.161"),
            ("Photo exchange / Holiday pictures", "24.114.0.10"),
        ]
        sends = [e for e in parsed.events if e.kind == "file_transfer"]
        assert [(e.actor.username, e.file.sha256) for e in sends if e.actor and e.file] == [
            ("john123", SHA_A),
            ("Son_of_god", SHA_B),
            ("Son_of_god", SHA_A),
        ]
        assert all(not e.targets and not e.room_recipients for e in sends)
        standing = {
            s.account.username: s.extra
            for s in parsed.sightings
            if s.account and s.selector is None
        }
        assert standing == {
            "Son_of_god": {"user_type": 3, "group_id": 5},
            "john123": {"user_type": 0, "group_id": 2},
        }

    def test_platform_option_wins_over_sitename(self, tmp_path: Path) -> None:
        parsed = parse_one("phpbb", self.good_location(tmp_path), ParseOptions(platform="Boards"))
        assert {a for a, _ in accounts_of(parsed)} == {"Boards"}

    def test_missing_table_names_database_and_table(self, tmp_path: Path) -> None:
        import sqlite3

        path = build_phpbb_sqlite(tmp_path / "seized.sqlite")
        connection = sqlite3.connect(path)
        connection.execute("DROP TABLE phpbb_attachments")
        connection.commit()
        connection.close()
        with pytest.raises(BadInput, match=r"seized\.sqlite: no table phpbb_attachments"):
            parse_one("phpbb", path, ParseOptions())

    def test_other_prefix(self, tmp_path: Path) -> None:
        path = build_phpbb_sqlite(tmp_path / "board2.sqlite", prefix="forum3_")
        with pytest.raises(UnsupportedFormat, match="no table phpbb_users"):
            parse_one("phpbb", path, ParseOptions())
        parsed = parse_one("phpbb", path, ParseOptions(table_prefix="forum3_"))
        assert len(accounts_of(parsed)) == 2

    def test_sqlite_evidence_is_opened_read_only(self, tmp_path: Path) -> None:
        import sqlite3

        path = self.good_location(tmp_path)
        with sqlite3.connect(path) as connection:  # WAL mode, as a live board might be
            connection.execute("PRAGMA journal_mode=WAL")
        before = path.read_bytes()
        parse_one("phpbb", path, ParseOptions())
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["board.sqlite"]

    def test_uncheckpointed_wal_pages_are_read_from_a_copy(self, tmp_path: Path) -> None:
        import shutil
        import sqlite3

        live = build_phpbb_sqlite(tmp_path / "live.sqlite")
        connection = sqlite3.connect(live)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.execute(
            "INSERT INTO phpbb_users VALUES (9, 'late_joiner', 'late_joiner', "
            "'late@mailbox.example', '81.2.69.162', 1143000000, 0, 2)"
        )
        connection.commit()
        seized = tmp_path / "seized"
        seized.mkdir()
        for suffix in ("", "-wal"):  # what a seizure copies while the board is running
            shutil.copyfile(f"{live}{suffix}", seized / f"board.sqlite{suffix}")
        connection.close()
        before = {p.name: p.read_bytes() for p in seized.iterdir()}
        parsed = parse_one("phpbb", seized / "board.sqlite", ParseOptions())
        assert ("HobbyBoard", "late_joiner") in accounts_of(parsed)
        assert {p.name: p.read_bytes() for p in seized.iterdir()} == before
