"""The ingest workflow and CLI: data-model rows, idempotence, nothing half-written, distribution.

Runs on SQLite and PostgreSQL (the ``store`` fixture); the phpBB board is also read from the
real MariaDB server.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.synth_cache import generate_cached
from tests.test_ingest_support import (
    SOURCES,
    build_phpbb_sqlite,
    many_accounts_report,
    mariadb_board,
    mariadb_copy_of,
    row_counts,
)
from vigil.errors import BadInput
from vigil.formats.source_records import ParseOptions
from vigil.store.db import Store
from vigil.store.models import (
    AuditEntry,
    Event,
    File,
    HashEntry,
    HashSet,
    Match,
    Selector,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
)
from vigil.workflows.network.distribution import distribution
from vigil.workflows.sources.ingest import ingest

SHA_A = "8eafa3caceb46f0369d79cb4e623c9516f9bdd273580e69d43bc28399fe387e9"
MD5_A = "5e9f0c9689fb7ec181ea0fb09ad3f74e"
MD5_ONLY = "eea3f37743bfd3409bec556ab26d4698"


def ingest_fixtures(store: Store, tmp_path: Path) -> None:
    board = tmp_path / "board.sqlite"
    if not board.exists():
        build_phpbb_sqlite(board)
    for format_name, location, options in [
        ("cybertip", SOURCES / "cybertip", ParseOptions()),
        ("irc", SOURCES / "irc", ParseOptions(platform="EFnet")),
        ("chat-jsonl", SOURCES / "chat", ParseOptions()),
        ("isp", SOURCES / "isp", ParseOptions()),
        ("phpbb", board, ParseOptions()),
    ]:
        ingest(store, admin_actor(store), format_name, str(location), "CASE-1", options)


def account_id(session, platform: str, username: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalars(
        select(Selector.id).where(
            Selector.kind == "username",
            Selector.platform == platform,
            Selector.value == username.casefold(),
        )
    ).one()


def test_contract_c_rows(store: Store, tmp_path: Path) -> None:
    ingest_fixtures(store, tmp_path)
    with store.reading() as session:
        son_irc = session.get(Selector, account_id(session, "EFnet", "Son_of_god"))
        assert son_irc is not None and son_irc.display == "Son_of_god"
        son_px = account_id(session, "Pixelshare", "son_of_god")
        stable = session.scalars(
            select(Selector).where(Selector.kind == "account", Selector.value == "u-77001")
        ).one()
        assert stable.platform == "Pixelshare"
        assert session.scalars(
            select(Sighting.account_id).where(Sighting.selector_id == stable.id)
        ).all() == [son_px]
        email = session.scalars(
            select(Selector).where(
                Selector.kind == "email", Selector.value == "orin.vaskel@mailbox.example"
            )
        ).one()
        seen_on = set(
            session.scalars(select(Sighting.account_id).where(Sighting.selector_id == email.id))
        )
        assert son_px in seen_on and None in seen_on  # the report, and the ISP subscriber
        self_sightings = session.scalars(
            select(Sighting).where(Sighting.selector_id == son_px, Sighting.account_id == son_px)
        ).all()
        assert [s.extra["role"] for s in self_sightings] == ["reported"]
        victim = account_id(session, "Pixelshare", "little_star")
        victim_rows = session.scalars(select(Sighting).where(Sighting.selector_id == victim)).all()
        assert [s.extra["role"] for s in victim_rows] == ["victim"]
        assert session.scalars(select(Event).where(Event.actor_id == victim)).all() == []

        dcc = session.scalars(
            select(Event)
            .where(Event.kind == "file_transfer", Event.actor_id == son_irc.id)
            .order_by(Event.occurred_at)
        ).all()
        assert [e.room for e in dcc] == ["#lounge"] * 3
        assert dcc[0].target_id is None
        assert sorted(dcc[0].extra["recipients"]) == sorted(
            [account_id(session, "EFnet", "john123"), account_id(session, "EFnet", "Quiet_one")]
        )
        dm = session.scalars(
            select(Event).where(
                Event.kind == "file_transfer",
                Event.actor_id == account_id(session, "Chatterbox", "son.of.god"),
            )
        ).all()
        assert len(dm) == 5  # two attachments to two people, one to one
        assert len({e.extra["send"] for e in dm}) == 3
        assert {e.target_id for e in dm} == {
            account_id(session, "Chatterbox", "john123"),
            account_id(session, "Chatterbox", "KiteRunner"),
        }

        file_a = session.scalars(select(File).where(File.sha256 == SHA_A)).one()
        assert file_a.md5 == MD5_A  # the chat line and the report named both
        md5_only = session.scalars(select(File).where(File.md5 == MD5_ONLY)).one()
        assert md5_only.sha256 is None and md5_only.sha1 is None
        assert session.scalars(select(File.id).where(File.md5 == MD5_A)).all() == [file_a.id]

        subscriber = session.scalars(
            select(Sighting).where(Sighting.context.like("isp subscriber return%"))
        ).all()
        countries = {s.extra["subscriber"]["country"] for s in subscriber}
        assert countries == {"CA", "GB"}
        proxy = session.scalars(select(Event).where(Event.kind == "ip_capture")).all()
        assert sum(1 for e in proxy if e.extra["possible_proxy"]) == 1

        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "source.ingest")
        ).all()
        sources = session.scalars(select(Source)).all()
        assert len(audits) == len(sources) == 6
        details = {json.loads(a.details)["name"]: json.loads(a.details) for a in audits}
        assert details["#lounge.log"]["events"] == 6
        assert details["chatterbox.jsonl"]["records"] == 4


def test_ingest_twice_changes_nothing_on_both_databases(store: Store, tmp_path: Path) -> None:
    ingest_fixtures(store, tmp_path)
    before = row_counts(store)
    ingest_fixtures(store, tmp_path)
    assert row_counts(store) == before


def test_distribution_per_account_and_subject(store: Store, tmp_path: Path) -> None:
    ingest_fixtures(store, tmp_path)
    report = distribution(store, admin_actor(store))
    rows = {(a.platform, a.username): a for a in report.accounts}
    son_chat = rows[("Chatterbox", "son.of.god")]
    assert (son_chat.files_sent, son_chat.distinct_files_sent, son_chat.distinct_recipients) == (
        3,
        2,
        2,
    )
    son_irc = rows[("EFnet", "Son_of_god")]
    assert (son_irc.files_sent, son_irc.distinct_files_sent) == (3, 2)
    assert [r.username for r in son_irc.recipients] == ["john123", "Quiet_one"]
    assert son_irc.first_seen is not None and son_irc.first_seen.isoformat() == (
        "2006-03-14T21:00:00+00:00"
    )
    assert rows[("HobbyBoard", "Son_of_god")].distinct_recipients == 0
    with store.transaction() as session:
        subject = Subject(label="Son of god", role="suspect")
        session.add(subject)
        session.flush()
        for platform, name in [
            ("EFnet", "Son_of_god"),
            ("Chatterbox", "son.of.god"),
            ("HobbyBoard", "Son_of_god"),
        ]:
            session.add(
                SubjectSelector(
                    subject_id=subject.id, selector_id=account_id(session, platform, name)
                )
            )
    (linked,) = distribution(store, admin_actor(store)).subjects
    assert (linked.files_sent, linked.distinct_files_sent, linked.distinct_recipients) == (8, 3, 4)

    result = run_cli("distribution", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    top = payload["accounts"][0]
    assert set(top) >= {
        "platform",
        "username",
        "files_sent",
        "distinct_files_sent",
        "distinct_recipients",
        "recipients",
        "first_seen",
        "last_seen",
    }
    assert payload["subjects"][0]["files_sent"] == 8


def test_files_are_matched_against_hash_sets(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.transaction() as session:
        hash_set = HashSet(name="known", kind="alert", format="list", entry_count=1)
        session.add(hash_set)
        session.flush()
        session.add(HashEntry(hash_set_id=hash_set.id, sha256=SHA_A))
    ingest(sqlite_store, admin_actor(sqlite_store), "irc", str(SOURCES / "irc"), "CASE-1")
    with sqlite_store.reading() as session:
        matched = session.scalars(select(File.sha256).join(Match, Match.file_id == File.id)).all()
    assert matched == [SHA_A]


@pytest.mark.mariadb
def test_phpbb_read_from_mariadb_equals_sqlite(store: Store, tmp_path: Path) -> None:
    sqlite_file = build_phpbb_sqlite(tmp_path / "board.sqlite")
    from_file = ingest(store, admin_actor(store), "phpbb", str(sqlite_file), "CASE-1")
    with mariadb_board(prefix="seized_") as url:
        options = ParseOptions(table_prefix="seized_")
        from_server = ingest(store, admin_actor(store), "phpbb", url, "CASE-1", options)
        again = ingest(store, admin_actor(store), "phpbb", url, "CASE-1", options)
    assert from_server.new_sources == 1 and again.already_ingested == 1
    assert from_server.documents[0].sha256 == again.documents[0].sha256
    counts = from_file.documents[0].counts
    server_counts = from_server.documents[0].counts
    assert (server_counts.accounts, server_counts.events, server_counts.sightings) == (
        counts.accounts,
        counts.events,
        counts.sightings,
    )
    assert server_counts.selectors_new == 0  # the same users, emails and IPs
    report = {(a.platform, a.username): a for a in distribution(store, admin_actor(store)).accounts}
    assert report[("HobbyBoard", "Son_of_god")].files_sent == 4  # two boards, two sends each


@pytest.mark.mariadb
def test_generated_board_read_from_mariadb_equals_the_sqlite_file(
    sqlite_store: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    operation = generate_cached(1, "small", tmp_path_factory.getbasetemp())
    board = operation / "forum" / "phpbb.sqlite"
    direct = ingest(
        sqlite_store, admin_actor(sqlite_store), "phpbb", str(board), "CASE-1"
    ).documents[0]
    sends_from_file = sum(
        a.files_sent for a in distribution(sqlite_store, admin_actor(sqlite_store)).accounts
    )
    prefix = f"gen{uuid.uuid4().hex[:6]}_"
    with mariadb_copy_of(board, prefix) as url:
        served = ingest(
            sqlite_store,
            admin_actor(sqlite_store),
            "phpbb",
            url,
            "CASE-1",
            ParseOptions(table_prefix=prefix),
        ).documents[0]
    assert served.created and served.sha256 != direct.sha256  # a dump digest, not file bytes
    assert (served.counts.accounts, served.counts.events, served.counts.sightings) == (
        direct.counts.accounts,
        direct.counts.events,
        direct.counts.sightings,
    )
    assert served.counts.selectors_new == 0 and served.counts.files_new == 0
    assert sends_from_file > 0
    assert (
        sum(a.files_sent for a in distribution(sqlite_store, admin_actor(sqlite_store)).accounts)
        == 2 * sends_from_file
    )


def _bad_sources(tmp_path: Path) -> list[tuple[str, Path, str]]:
    report = (SOURCES / "cybertip" / "single-report.xml").read_text()
    cases = {
        "malformed.xml": ("cybertip", report.replace("</report>", "</reprt>"), "malformed XML"),
        "entities.xml": (
            "cybertip",
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<report><reportId>&b;</reportId></report>",
            "DTD is refused",
        ),
        "baddate.xml": (
            "cybertip",
            report.replace("2006-03-14T21:00:00Z", "2006-13-14T21:00:00Z"),
            "invalid date",
        ),
        "badtype.jsonl": ("chat-jsonl", '{"platform": 1, "sender": "x", "ts": "x"}', "string"),
    }
    written = []
    for name, (format_name, content, needle) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        written.append((format_name, path, needle))
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(
        (SOURCES / "chat" / "chatterbox.jsonl").read_bytes().replace(b"thanks", b"caf\xe9")
    )
    written.append(("chat-jsonl", latin, "not UTF-8"))
    return written


def test_bad_input_is_one_line_exit_2_and_nothing_written(
    sqlite_store: Store, tmp_path: Path
) -> None:
    ingest(
        sqlite_store,
        admin_actor(sqlite_store),
        "irc",
        str(SOURCES / "irc"),
        "CASE-1",
        ParseOptions(platform="EFnet"),
    )
    before = row_counts(sqlite_store)
    import sqlite3

    board = build_phpbb_sqlite(tmp_path / "no-topics.sqlite")
    with sqlite3.connect(board) as connection:
        connection.execute("DROP TABLE phpbb_topics")
    cases = [*_bad_sources(tmp_path), ("phpbb", board, "no table phpbb_topics")]
    for format_name, path, needle in cases:
        result = run_cli("ingest", format_name, str(path), "--case", "CASE-1")
        assert result.exit_code == 2, (path.name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and path.name in lines[0], lines
        assert row_counts(sqlite_store) == before


def test_a_bad_file_in_a_directory_stops_it_before_writing(
    sqlite_store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a-good.xml").write_bytes((SOURCES / "cybertip" / "wrapper.xml").read_bytes())
    (folder / "b-bad.xml").write_text("<report><incidentSummary>")
    before = row_counts(sqlite_store)
    with pytest.raises(BadInput, match=r"b-bad\.xml"):
        ingest(sqlite_store, admin_actor(sqlite_store), "cybertip", str(folder), "CASE-1")
    assert row_counts(sqlite_store) == before


def test_cli_ingest_summary_and_unknown_format(sqlite_store: Store) -> None:
    result = run_cli("ingest", "chat-jsonl", str(SOURCES / "chat"), "--case", "CASE-1", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["new_sources"], summary["records"], summary["events"]) == (1, 4, 10)
    again = run_cli("ingest", "chat-jsonl", str(SOURCES / "chat"), "--case", "CASE-1")
    assert again.exit_code == 0 and "0 new source(s), 1 already ingested" in again.stdout
    unknown = run_cli("ingest", "pdf", "x", "--case", "CASE-1")
    assert unknown.exit_code == 2
    missing_case = run_cli("ingest", "irc", str(SOURCES / "irc"), "--case", "NOPE")
    assert missing_case.exit_code == 2 and "no case 'NOPE'" in missing_case.stderr


def test_cli_platform_tz_and_prefix_options(sqlite_store: Store, tmp_path: Path) -> None:
    result = run_cli(
        "ingest",
        "irc",
        str(SOURCES / "irc"),
        "--case",
        "CASE-1",
        "--platform",
        "EFnet",
        "--tz",
        "Europe/Berlin",
    )
    assert result.exit_code == 0, result.stderr
    board = build_phpbb_sqlite(tmp_path / "board.sqlite", prefix="seized_")
    result = run_cli(
        "ingest",
        "phpbb",
        str(board),
        "--case",
        "CASE-1",
        "--prefix",
        "seized_",
        "--platform",
        "Boards",
    )
    assert result.exit_code == 0, result.stderr
    with sqlite_store.reading() as session:
        first = session.scalars(
            select(Event.occurred_at).where(Event.kind == "message").order_by(Event.id)
        ).first()
        platforms = set(
            session.scalars(select(Selector.platform).where(Selector.kind == "username"))
        )
    assert first is not None and first.isoformat() == "2006-03-14T20:03:00+00:00"  # CET
    assert platforms == {"EFnet", "Boards"}
    bad_zone = run_cli(
        "ingest", "irc", str(SOURCES / "irc"), "--case", "CASE-1", "--tz", "Mars/Olympus"
    )
    assert bad_zone.exit_code == 2 and "unknown time zone" in bad_zone.stderr


@pytest.mark.postgres
def test_phpbb_read_from_postgresql(sqlite_store: Store, pg_url: str) -> None:
    from sqlalchemy import create_engine, text

    from tests.test_ingest_support import board_statements

    board = create_engine(pg_url)
    with board.begin() as connection:
        for statement in board_statements():
            connection.execute(text(statement))
    board.dispose()
    summary = ingest(sqlite_store, admin_actor(sqlite_store), "phpbb", pg_url, "CASE-1")
    document = summary.documents[0]
    assert document.created and "postgresql" in document.name
    assert (document.counts.accounts, document.counts.events) == (2, 6)


@pytest.mark.postgres
def test_a_large_batch_refreshes_postgresql_statistics(pg_store: Store, tmp_path: Path) -> None:
    """A batch that adds over a thousand selectors re-takes the planner's statistics, so the
    next batch's lookups probe the index instead of filtering every row (docs/benchmarks.md)."""
    source = tmp_path / "reports.xml"
    source.write_text(many_accounts_report(400))
    ingest(pg_store, admin_actor(pg_store), "cybertip", str(source), "CASE-1")
    with pg_store.engine.connect() as connection:
        estimate = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'selector'::regclass")
        ).scalar_one()
        stored = connection.execute(text("SELECT count(*) FROM selector")).scalar_one()
    assert stored >= 1_000
    assert estimate == stored
