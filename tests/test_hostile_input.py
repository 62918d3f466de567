"""Bad input, by construction (docs/reliability.md): a dirty value inside a sound record is a
counted warning and kept verbatim; a hostile value is exit 2 and one line, never exit 1; and
every format's hostile corpus behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.hostile_inputs import GENERATORS, HASHSET_GENERATORS, ISP_HEADER, jsonl, write
from tests.test_ingest_support import build_phpbb_sqlite, row_counts
from vigil.errors import VigilError
from vigil.store.db import Store
from vigil.store.models import Selector, Source
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.operation.setup import init_store, open_case
from vigil.workflows.sources.ingest import ingest

GOOD = {"platform": "NightChat", "room": "lobby", "ts": "2006-03-14T21:00:00Z", "sender": "kit"}


def _dirty(store: Store) -> tuple[list[dict], int]:
    with store.reading() as session:
        extra = session.scalars(select(Source.extra)).one() or {}
        emails = session.scalars(select(Selector.value).where(Selector.kind == "email")).all()
    return extra.get("dirty_values", []), len([e for e in emails if e == "none"])


def test_one_dirty_email_on_a_seized_board_is_a_warning_not_a_refusal(store, tmp_path):
    board = build_phpbb_sqlite(tmp_path / "board.sqlite")
    with sqlite3.connect(board) as connection:
        connection.execute("UPDATE phpbb_users SET user_email = 'none' WHERE user_id = 3")

    result = run_cli("ingest", "phpbb", str(board), "--case", "CASE-1")

    assert result.exit_code == 0, result.stderr
    assert "1 warning" in result.stdout + result.stderr
    dirty, selectors = _dirty(store)
    assert [(d["kind"], d["value"]) for d in dirty] == [("email", "none")]
    assert selectors == 0


def test_one_malformed_email_in_a_subscriber_return_is_a_warning(sqlite_store, tmp_path):
    rows = [
        "24.114.0.10,2006-03-01T00:00:00Z,,Maple,Orin Vaskel,orin(at)mailbox,,,,,CA,A1,R1",
        "24.114.0.11,2006-03-01T00:00:00Z,,Maple,Kit Runner,kit@mailbox.example,,,,,CA,A2,R2",
    ]
    path = write(tmp_path, "returns.csv", "\n".join([ISP_HEADER, *rows, ""]).encode())

    summary = ingest(sqlite_store, admin_actor(sqlite_store), "isp", str(path), "CASE-1")

    assert summary.totals()["warnings"] == 1
    dirty, _ = _dirty(sqlite_store)
    assert dirty == [{"location": "line 2", "kind": "email", "value": "orin(at)mailbox"}]


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
CORPUS = {
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
}


def _run_corpus(url: str, tmp: Path, monkeypatch) -> dict[str, tuple[int, dict[str, int]]]:
    monkeypatch.setenv("VIGIL_DB", url)
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "test-password")
    store = Store(url)
    init_store(store, "TEST", "Test Unit", "CA")
    open_case(store, admin_actor(store), "CASE-1", "fixture case")
    outcomes = {}
    for name, (format_name, file_name, data) in CORPUS.items():
        folder = tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        path = write(folder, file_name, data)
        result = run_cli("ingest", format_name, str(path), "--case", "CASE-1")
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
    }


# The fuzzing harness: a short budget here, a longer run in benchmarks/fuzz_formats.py.
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
