"""Bad input, by construction (docs/reliability.md): a dirty value inside a sound record is a
counted warning and kept verbatim; a hostile value is exit 2 and one line, never exit 1; and
every format's hostile corpus behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.hostile_inputs import (
    GENERATORS,
    HASHSET_GENERATORS,
    ISP_HEADER,
    NSRL_LEGACY_HEADER,
    NSRL_RDS,
    jsonl,
    write,
)
from tests.test_ingest_support import SOURCES, board_statements, build_phpbb_sqlite, row_counts
from vigil.errors import VigilError
from vigil.formats.registry import HASHSET_FORMATS, SOURCE_FORMATS, load_all
from vigil.store.db import Store
from vigil.store.extras import SightingExtra
from vigil.store.models import Event, Selector, Sighting, Source
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest

GOOD = {"platform": "NightChat", "room": "lobby", "ts": "2006-03-14T21:00:00Z", "sender": "kit"}


def _flagged(store: Store) -> list[tuple[str, str, str, str]]:
    """(kind of the sighted selector, context, dirty kind, dirty value) of each flagged value."""
    with store.reading() as session:
        rows = session.execute(
            select(Selector.kind, Sighting.context, Sighting.extra).join(
                Selector, Selector.id == Sighting.selector_id
            )
        ).all()
    return sorted(
        (kind, context, d["kind"], d["value"])
        for kind, context, extra in rows
        if extra
        for d in extra.get("dirty", [])
    )


def _selectors_holding(store: Store, value: str) -> int:
    with store.reading() as session:
        return len(
            session.scalars(
                select(Selector.id).where((Selector.value == value) | (Selector.display == value))
            ).all()
        )


def _board_with_a_dirty_email(tmp: Path) -> Path:
    board = build_phpbb_sqlite(tmp / "board.sqlite")
    with sqlite3.connect(board) as connection:
        connection.execute("UPDATE phpbb_users SET user_email = 'none' WHERE user_id = 3")
    return board


def _return_with_dirty_values(tmp: Path) -> Path:
    rows = [
        "24.114.0.10,2006-03-01T00:00:00Z,,Maple,Orin Vaskel,orin(at)mailbox,n/a,,,,ZZ,A1,R1",
        "24.114.0.11,2006-03-01T00:00:00Z,,Maple,Kit Runner,kit@mailbox.example,,,,,CA,A2,R2",
    ]
    return write(tmp, "returns.csv", "\n".join([ISP_HEADER, *rows, ""]).encode())


def _report_with_a_dirty_email_and_ip(tmp: Path) -> Path:
    text = (SOURCES / "cybertip" / "single-report.xml").read_text()
    text = text.replace("Orin.Vaskel@Mailbox.example", "orin(at)mailbox", 1)
    return write(tmp, "report.xml", text.replace("24.114.0.10", "24.114.0.999", 1).encode())


def _chat_with_a_dirty_ip(tmp: Path) -> Path:
    return write(tmp, "chat.jsonl", jsonl(GOOD, {**GOOD, "sender_ip": "999.1.1.1", "text": "x"}))


def _irc_with_a_dirty_ip(tmp: Path) -> Path:
    log = "--- Log opened Tue Mar 14 21:00:00 2006\n21:04 -!- kit [~u@300.1.2.3] has joined #room\n"
    return write(tmp, "#room.log", log.encode())


DIRTY_RECORDS = {
    "phpbb": (_board_with_a_dirty_email, [("username", "phpbb user email", "email", "none")]),
    "isp": (
        _return_with_dirty_values,
        [
            ("ip", "isp subscriber return Maple R1", "country", "ZZ"),
            ("ip", "isp subscriber return Maple R1", "email", "orin(at)mailbox"),
            ("ip", "isp subscriber return Maple R1", "phone", "n/a"),
        ],
    ),
    "cybertip": (
        _report_with_a_dirty_email_and_ip,
        [
            ("username", "cybertip reported CT-1001", "email", "orin(at)mailbox"),
            ("username", "cybertip reported CT-1001", "ip", "24.114.0.999"),
        ],
    ),
    "chat-jsonl": (_chat_with_a_dirty_ip, [("username", "chat sender ip", "ip", "999.1.1.1")]),
    "irc": (_irc_with_a_dirty_ip, [("username", "irc join #room", "ip", "300.1.2.3")]),
}


@pytest.mark.parametrize("format_name", sorted(DIRTY_RECORDS))
def test_a_dirty_value_is_kept_on_its_sighting_flagged_counted_and_never_a_selector(
    store, tmp_path, format_name
):
    build, expected = DIRTY_RECORDS[format_name]
    path = build(tmp_path)

    result = run_cli("ingest", format_name, str(path), "--case", "CASE-1", "--json")

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dirty_values"] == len(expected) <= summary["warnings"]
    assert summary["documents"][0]["dirty_values"] == len(expected)
    assert _flagged(store) == expected
    assert all(_selectors_holding(store, value) == 0 for *_, value in expected)
    with store.reading() as session:
        extra = session.scalars(select(Source.extra)).one()
    assert extra["dirty_value_count"] == len(expected) and "dirty_values" not in extra


def test_the_user_sees_the_dirty_values_counted(sqlite_store, tmp_path):
    path = _return_with_dirty_values(tmp_path)

    result = run_cli("ingest", "isp", str(path), "--case", "CASE-1")

    assert result.exit_code == 0, result.stderr
    assert "3 warning(s), 3 of them dirty value(s)" in result.stdout
    assert "not an ISO 3166-1 alpha-2 code: 'ZZ'" in result.stderr
    assert "orin(at)mailbox" in result.stderr


def test_a_subscriber_country_that_is_not_iso_3166_is_no_basis_for_a_country(
    sqlite_store, tmp_path
):
    path = _return_with_dirty_values(tmp_path)

    ingest(sqlite_store, admin_actor(sqlite_store), "isp", str(path), "CASE-1")

    with sqlite_store.reading() as session:
        extras = session.scalars(select(Sighting.extra)).all()
    countries = {SightingExtra.of(e).subscriber.country for e in extras if e and "subscriber" in e}
    assert countries == {None, "CA"}


def test_a_dirty_address_on_a_post_without_a_known_poster_stays_on_the_post(sqlite_store, tmp_path):
    board = build_phpbb_sqlite(tmp_path / "board.sqlite")
    with sqlite3.connect(board) as connection:
        connection.execute(
            "UPDATE phpbb_posts SET poster_id = 99, poster_ip = 'x' WHERE post_id = 2"
        )

    ingest(sqlite_store, admin_actor(sqlite_store), "phpbb", str(board), "CASE-1")

    with sqlite_store.reading() as session:
        extras = session.scalars(select(Event.extra).where(Event.kind == "post")).all()
    dirty = [d for e in extras for d in e.get("dirty", [])]
    assert [(d["kind"], d["value"]) for d in dirty] == [("ip", "x")]


@pytest.mark.parametrize(
    ("records", "needle"),
    [
        ([{**GOOD, "ts": "0001-01-01T00:00:00+01:00"}], "date out of range"),
        ([{**GOOD, "attachments": [{"name": "a", "size": 10**30, "md5": "0" * 32}]}], "size"),
        (["[" * 100_000], "nested too deeply"),
        ([{**GOOD, "sender": {"name": "kit"}}], "'sender' must be a string"),
        ([{**GOOD, "room": ["lobby"]}], "'room' must be a string"),
    ],
)
def test_hostile_values_are_exit_2_and_one_line(sqlite_store, tmp_path, records, needle):
    path = write(tmp_path, "chat.jsonl", jsonl(GOOD, *records))
    before = row_counts(sqlite_store)

    result = run_cli("ingest", "chat-jsonl", str(path), "--case", "CASE-1")

    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert row_counts(sqlite_store) == before


def test_an_oversized_dcc_size_is_exit_2(sqlite_store, tmp_path):
    log = "\n".join(
        [
            "--- Log opened Tue Mar 14 21:00:00 2006",
            f"21:06 -!- DCC SEND from kit [1.2.3.4 port 5000]: a.jpg [{10**30} bytes]",
            "",
        ]
    )
    path = write(tmp_path, "#room.log", log.encode())

    result = run_cli("ingest", "irc", str(path), "--case", "CASE-1")

    assert (result.exit_code, "out of range" in result.stderr) == (2, True), result.stderr


def test_legal_json_with_raw_line_separators_is_read(sqlite_store, tmp_path):
    path = write(tmp_path, "chat.jsonl", jsonl({**GOOD, "text": "night\u2028all\u2029!"}))

    result = run_cli("ingest", "chat-jsonl", str(path), "--case", "CASE-1")

    assert result.exit_code == 0, result.stderr
    assert row_counts(sqlite_store)["event"] == 1


# Every format's hostile corpus on both stores: same exit codes, same rows.
def _board(*updates: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    for statement in [s.replace(" NOT NULL", "") for s in board_statements()]:
        connection.execute(statement)
    for update in updates:
        connection.execute(update)
    connection.commit()
    return connection.serialize()


def _nsrl_rds(*updates: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    for statement in [*NSRL_RDS, *updates]:
        connection.execute(statement)
    connection.commit()
    return connection.serialize()


REPORT = (SOURCES / "cybertip" / "single-report.xml").read_text()
SOURCE_CORPUS = {
    "nul-and-surrogate-names": (
        "chat-jsonl",
        "chat.jsonl",
        jsonl({**GOOD, "sender": "k\x00it"}, {**GOOD, "sender": "x\ud800y", "text": "a\x00b"}),
    ),
    "very-long-name": ("chat-jsonl", "chat.jsonl", jsonl({**GOOD, "sender": "A" * 5000})),
    "very-long-room": ("chat-jsonl", "chat.jsonl", jsonl({**GOOD, "room": "R" * 5000})),
    "dirty-ip": ("chat-jsonl", "chat.jsonl", jsonl({**GOOD, "sender_ip": "999.1.1.1"})),
    "irc-nul-nick": (
        "irc",
        "#room.log",
        b"--- Log opened Tue Mar 14 21:00:00 2006\n21:05 < k\x00it> night all\n",
    ),
    "isp-overflow-date": (
        "isp",
        "r.csv",
        f"{ISP_HEADER}\n24.114.0.10,0001-01-01T00:00:00+01:00,,,,,,,,,CA,,\n".encode(),
    ),
    "isp-long-name": (
        "isp",
        "r.csv",
        f"{ISP_HEADER}\n24.114.0.10,2006-03-01T00:00:00Z,,I,{'N' * 5000},,,,,,CA,,\n".encode(),
    ),
    "isp-nul-phone-dirty-country": (
        "isp",
        "r.csv",
        f'{ISP_HEADER}\n24.114.0.10,2006-03-01T00:00:00Z,,I,N,none,"604\x00555",,,,ZZ,,\n'.encode(),
    ),
    "cybertip-dirty-email-and-ip": (
        "cybertip",
        "report.xml",
        REPORT.replace("Orin.Vaskel@Mailbox.example", "none")
        .replace("24.114.0.10", "::1x")
        .encode(),
    ),
    "cybertip-overflow-date": (
        "cybertip",
        "report.xml",
        REPORT.replace("2006-03-14T21:00:00Z", "0001-01-01T00:00:00+01:00", 1).encode(),
    ),
    "phpbb-nul-name-dirty-email": (
        "phpbb",
        "board.sqlite",
        _board(
            "UPDATE phpbb_users SET username = 'k' || char(0) || 'it' WHERE user_id = 3",
            "UPDATE phpbb_users SET user_email = 'none', user_ip = '999.1.1.1' WHERE user_id = 2",
        ),
    ),
    "phpbb-text-poster-id": (
        "phpbb",
        "board.sqlite",
        _board("UPDATE phpbb_posts SET poster_id = 'kit' WHERE post_id = 2"),
    ),
    "phpbb-oversized-attachment": (
        "phpbb",
        "board.sqlite",
        _board(f"UPDATE phpbb_attachments SET filesize = '{10**30}' WHERE attach_id = 1"),
    ),
}
HASHSET_CORPUS = {
    "nsrl-rds-text-size": ("nsrl", "nsrl.db", _nsrl_rds("UPDATE FILE SET file_size = 'ten'")),
    "nsrl-rds-nul-name": (
        "nsrl",
        "nsrl.db",
        _nsrl_rds("UPDATE FILE SET file_name = 'a' || char(0) || 'b'"),
    ),
    "nsrl-legacy-overflow": (
        "nsrl",
        "NSRLFile.txt",
        f'{NSRL_LEGACY_HEADER}\n"{"B" * 40}","{"C" * 32}","0","a","{10**30}","1","2",""\n'.encode(),
    ),
    "vics-wrong-types": (
        "vics",
        "set.json",
        json.dumps(
            {
                "@odata.context": "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/$metadata#Media",
                "value": [{"MediaID": [1], "Category": {}, "MD5": "0" * 32, "MediaSize": 10**30}],
            }
        ).encode(),
    ),
    "hashdeep-nul-name": (
        "hashdeep",
        "set.txt",
        b"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
        + f"4,{'a' * 32},{'b' * 64},x\x00y\n".encode(),
    ),
    "icse-bad-flag": (
        "icse",
        "set.csv",
        b"MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
        b"Series name\n" + f"{'0' * 32};;;a\x00b;perhaps;Yes;Yes;s\n".encode(),
    ),
    "list-mixed": ("list", "set.txt", f"{'0' * 32}\n{'g' * 32}\n".encode()),
}


def _run_corpus(url: str, tmp: Path, monkeypatch) -> dict[str, tuple[int, dict[str, int]]]:
    monkeypatch.setenv("VIGIL_DB", url)
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(url)
    init_store(store, "TEST", "Test Unit", "CA")
    open_case(store, admin_actor(store), "CASE-1", "fixture case")
    outcomes = {}
    for name, (format_name, file_name, data) in {**SOURCE_CORPUS, **HASHSET_CORPUS}.items():
        folder = tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        path = write(folder, file_name, data)
        if name in SOURCE_CORPUS:
            result = run_cli("ingest", format_name, str(path), "--case", "CASE-1")
        else:
            result = run_cli("hashset", "import", format_name, str(path), "--name", name)
        assert result.exit_code in (0, 2), (name, result.stderr)
        assert not result.stderr.startswith("\n"), (name, result.stderr)
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1, (name, result.stderr)
        outcomes[name] = (result.exit_code, row_counts(store))
    store.dispose()
    return outcomes


@pytest.mark.postgres
def test_the_hostile_corpus_behaves_alike_on_sqlite_and_postgresql(pg_url, tmp_path, monkeypatch):
    on_sqlite = _run_corpus(f"sqlite:///{tmp_path / 'v.db'}", tmp_path / "s", monkeypatch)
    on_postgresql = _run_corpus(pg_url, tmp_path / "p", monkeypatch)

    assert on_sqlite == on_postgresql
    codes = {name: code for name, (code, _) in on_sqlite.items()}
    assert codes == {
        "nul-and-surrogate-names": 0,
        "very-long-name": 2,
        "very-long-room": 0,
        "dirty-ip": 0,
        "irc-nul-nick": 0,
        "isp-overflow-date": 2,
        "isp-long-name": 0,
        "isp-nul-phone-dirty-country": 0,
        "cybertip-dirty-email-and-ip": 0,
        "cybertip-overflow-date": 2,
        "phpbb-nul-name-dirty-email": 0,
        "phpbb-text-poster-id": 2,
        "phpbb-oversized-attachment": 2,
        "nsrl-rds-text-size": 2,
        "nsrl-rds-nul-name": 0,
        "nsrl-legacy-overflow": 2,
        "vics-wrong-types": 2,
        "hashdeep-nul-name": 2,  # a NUL byte: binary data, not a text hash list
        "icse-bad-flag": 2,
        "list-mixed": 2,
    }


def test_the_hostile_corpus_and_the_fuzzer_cover_every_format():
    load_all()
    assert {f for f, _, _ in SOURCE_CORPUS.values()} == set(SOURCE_FORMATS.names())
    assert {f for f, _, _ in HASHSET_CORPUS.values()} == set(HASHSET_FORMATS.names())
    assert set(GENERATORS) == set(SOURCE_FORMATS.names())
    assert set(HASHSET_GENERATORS) == set(HASHSET_FORMATS.names())


# The fuzzing harness: a short budget here, a longer run in benchmarks/bench_fuzz.py.
@pytest.mark.parametrize("format_name", sorted(GENERATORS))
def test_fuzzed_documents_never_crash_and_never_half_write(sqlite_store, tmp_path, format_name):
    strategy, file_name = GENERATORS[format_name]

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=strategy)
    def check(data: bytes) -> None:
        path = write(tmp_path, file_name, data)
        before = row_counts(sqlite_store)
        try:
            ingest(sqlite_store, admin_actor(sqlite_store), format_name, str(path), "CASE-1")
        except VigilError:
            assert row_counts(sqlite_store) == before

    check()


@pytest.mark.parametrize("format_name", sorted(HASHSET_GENERATORS))
def test_fuzzed_hash_sets_never_crash_and_never_half_write(sqlite_store, tmp_path, format_name):
    strategy, file_name = HASHSET_GENERATORS[format_name]
    counter = iter(range(10**6))

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=strategy)
    def check(data: bytes) -> None:
        path = write(tmp_path, file_name, data)
        before = row_counts(sqlite_store)
        name = f"fuzz-{next(counter)}"
        try:
            import_hash_set(sqlite_store, admin_actor(sqlite_store), format_name, path, name=name)
        except VigilError:
            assert row_counts(sqlite_store) == before

    check()


# Selector values whose key could differ between the cache and the insert: NUL (which the
# store writes escaped), odd Unicode, spellings that normalise to one key. The fuzzer once
# found a KeyError in the writer on an ISP row with a NUL in its phone number.
ODD_SELECTOR_TEXT = [
    "604\x00555 0101",
    "\x00",
    "a\x00b@mailbox.example",
    "604 555 0101",
    "+1 604 555 0101",
    "(604) 555-0101",
    "Kit@Mailbox.Example",
    "kit@mailbox.example",
    "STRASSE@mailbox.example",
    "straße@mailbox.example",
    "\u0130@mailbox.example",
    "x\u2028y@mailbox.example",
    "\ufeffkit@mailbox.example",
    "phone ext. \u0663\u0664",
    "1.2.3.4\x00",
]
odd_text = st.one_of(st.sampled_from(ODD_SELECTOR_TEXT), st.text(max_size=12))
odd_ip = st.sampled_from(["24.114.0.10", "::ffff:24.114.0.10", "2001:DB8::1"])


@st.composite
def isp_with_odd_selectors(draw: st.DrawFn) -> list[str]:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""').encode("utf-8", "replace").decode() + '"'

    rows = []
    for number in range(draw(st.integers(1, 4))):
        email, phone = draw(odd_text), draw(odd_text)
        rows.append(
            f"{draw(odd_ip)},2006-03-01T00:00:00Z,,Maple,N,{cell(email)},{cell(phone)},"
            f",,,CA,A{number},R{number}"
        )
    return rows


def test_odd_selector_values_never_lose_their_key(store, tmp_path):
    counter = iter(range(10**6))

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=isp_with_odd_selectors())
    def check(rows: list[str]) -> None:
        number = next(counter)
        first = write(tmp_path, f"a{number}.csv", "\n".join([ISP_HEADER, *rows, ""]).encode())
        # The same rows under another request: a new source whose selectors all exist.
        again = [row.replace(",R", ",again R") for row in rows]
        second = write(tmp_path, f"b{number}.csv", "\n".join([ISP_HEADER, *again, ""]).encode())
        ingest(store, admin_actor(store), "isp", str(first), "CASE-1")
        summary = ingest(store, admin_actor(store), "isp", str(second), "CASE-1")
        assert summary.totals()["selectors_new"] == 0

    check()


def test_a_nul_in_a_phone_number_is_kept_escaped_and_found_again(store, tmp_path):
    row = '24.114.0.10,2006-03-01T00:00:00Z,,Maple,N,,"604\x00555 0101",,,,CA,A1,{ref}'
    for ref in ("R1", "R2"):
        path = write(tmp_path, f"{ref}.csv", f"{ISP_HEADER}\n{row.format(ref=ref)}\n".encode())
        summary = ingest(store, admin_actor(store), "isp", str(path), "CASE-1")
        assert summary.totals()["selectors_new"] == (2 if ref == "R1" else 0)

    with store.reading() as session:
        phones = session.scalars(select(Selector.value).where(Selector.kind == "phone")).all()
    assert phones == ["604\\x00555 0101"]


def test_a_person_known_only_by_details_keeps_dirty_values_on_their_sightings(
    sqlite_store, tmp_path
):
    victims = (
        "<victim><personOrUserReportedPerson><email>none</email><phone>+1 416 555 0199</phone>"
        "</personOrUserReportedPerson></victim>"
        "<victim><personOrUserReportedPerson><email>n/a</email>"
        "</personOrUserReportedPerson></victim>"
    )
    text = REPORT.replace(
        "<victim>\n    <espService>Pixelshare</espService>\n"
        "    <screenName>little_star</screenName>\n  </victim>",
        victims,
    )
    assert victims in text
    path = write(tmp_path, "report.xml", text.encode())

    summary = ingest(sqlite_store, admin_actor(sqlite_store), "cybertip", str(path), "CASE-1")

    assert summary.totals()["dirty_values"] == 2
    assert _flagged(sqlite_store) == [("phone", "cybertip victim CT-1001", "email", "none")]
    with sqlite_store.reading() as session:
        extra = session.scalars(select(Source.extra)).one()
    # nothing else was read of the second victim: the source keeps the value
    assert [(d["kind"], d["value"]) for d in extra["dirty_values"]] == [("email", "n/a")]
