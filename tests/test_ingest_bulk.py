"""The ingest's bulk paths (``workflows.sources.ingest_files``) and the JSON text every store
keeps (``vigil.store.db.json_text``): the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.actors import admin_actor
from tests.test_ingest_support import SOURCES, many_accounts_report, row_counts
from vigil.errors import BadInput
from vigil.formats.source_records import (
    AccountRef,
    FileRef,
    ParsedSource,
    ParseOptions,
    SelectorRef,
)
from vigil.store.bulk import bulk_insert, driver_converter, insert_returning, select_keys
from vigil.store.db import Store, json_text
from vigil.store.models import AuditEntry, Case, Event, File, Selector, Sighting, Source
from vigil.text import storable, storable_cut
from vigil.workflows.sources import ingest as ingest_module
from vigil.workflows.sources import parsing
from vigil.workflows.sources.ingest import ingest, ingest_json
from vigil.workflows.sources.ingest_rows import (
    FACT_AT,
    MD5,
    NAME,
    SHA1,
    SHA256,
    facts_key,
    file_facts,
    source_rows,
)
from vigil.workflows.sources.provenance import digest_bytes, register_source

KEYS = ("kind", "platform", "value")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _selector(kind: str, platform: str, value: str) -> dict[str, object]:
    return {"kind": kind, "platform": platform, "value": value, "display": value, "created_at": NOW}


def test_json_text_reads_back_as_json_dumps_does() -> None:
    values = [
        {"report_id": "B-1", "role": "reported", "possible_proxy": False, "n": 3, "x": 1.5},
        {"nested": {"list": [1, "two", None, True]}, "name": "Ünïcödé ✓", "empty": {}},
        {"big": 2**70, "small": -(2**70)},  # beyond orjson's 64 bits: json.dumps writes it
        {7: "an int key", "s": "tab\there"},
    ]
    for value in values:
        assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    assert json.loads(json_text({"nan": math.nan})) == {"nan": None}  # PostgreSQL refuses NaN


def test_json_text_refuses_what_json_dumps_refuses() -> None:
    for value in ({"when": NOW}, {"bytes": b"raw"}, {"set": {1, 2}}):
        with pytest.raises(TypeError):
            json.dumps(value)
        with pytest.raises(TypeError):
            json_text(value)


def test_insert_returning_gives_each_new_row_its_id(store: Store) -> None:
    rows = [
        _selector("username", "Pixelshare", "anna"),
        _selector("username", "Chatterbox", "anna"),
        _selector("email", "", "anna@mailbox.example"),
        _selector("username", "Pixelshare", "nul\x00name"),  # comes back as stored
    ]
    with Session(store.engine) as session, session.begin():
        first = insert_returning(session, Selector, rows[:1], ("id",))
        returned = insert_returning(session, Selector, rows[1:], ("id", *KEYS))
    with store.reading() as session:
        stored = set(session.execute(select(Selector.id, *(getattr(Selector, c) for c in KEYS))))
    assert len(stored) == 4
    assert {(first[0][0], *(rows[0][c] for c in KEYS))} | set(returned) == stored
    assert min(row[0] for row in returned) > first[0][0]  # after the rows already there


def test_insert_returning_keeps_times_exact_in_any_session_time_zone(store: Store) -> None:
    """Times are stored as naive UTC: one cast through the session's zone would move a time
    that falls in its daylight-saving gap (02:30 on 8 March 2026 in Toronto) by an hour."""
    in_the_gap = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    row = {**_selector("email", "", "gap@mailbox.example"), "created_at": in_the_gap}
    with Session(store.engine) as session, session.begin():
        if store.dialect == "postgresql":
            session.execute(text("SET LOCAL TimeZone = 'America/Toronto'"))
        insert_returning(session, Selector, [row], ("id",))
    with store.reading() as session:
        assert session.scalars(select(Selector.created_at)).one() == in_the_gap


def test_select_keys_finds_exactly_the_rows_with_those_keys(store: Store) -> None:
    rows = [_selector("username", p, v) for p in ("Pixelshare", "Snapvault") for v in "abc"]
    with Session(store.engine) as session, session.begin():
        bulk_insert(session, Selector, rows)
        ids = {
            (kind, platform, value): selector_id
            for selector_id, kind, platform, value in session.execute(
                select(Selector.id, Selector.kind, Selector.platform, Selector.value)
            )
        }
    wanted = [
        ("username", "Pixelshare", "a"),
        ("username", "Snapvault", "c"),
        ("username", "Snapvault", "c"),  # asked twice: found once
        ("username", "pixelshare", "a"),  # another spelling: a key is exact
        ("email", "Pixelshare", "a"),
        ("username", "Nowhere", "b"),
    ]
    with store.reading() as session:
        found = select_keys(session, "selector", ("id", "value"), KEYS, wanted)
    assert sorted(found) == sorted(
        [
            (ids[("username", "Pixelshare", "a")], "a"),
            (ids[("username", "Snapvault", "c")], "c"),
        ]
    )
    with store.reading() as session:
        assert select_keys(session, "selector", ("id",), KEYS, []) == []


def test_bulk_json_reads_back_the_same_on_every_store(store: Store) -> None:
    """Sightings' ``extra`` go in as ``json_text``; what comes back is the dict written."""
    extra = {"role": "reported", "name": "Ünïcödé", "big": 2**70, "nested": {"a": [1, None]}}
    actor = admin_actor(store)
    with Session(store.engine) as session, session.begin():
        case_id = session.scalars(select(Case.id)).one()
        source = register_source(
            session,
            actor,
            kind="cybertip",
            original_name="x.xml",
            digest=digest_bytes(b"x"),
            case_id=case_id,
        )
        insert_returning(session, Selector, [_selector("ip", "", "24.114.1.2")], ("id",))
        selector_id = session.scalars(select(Selector.id)).one()
        row = {"selector_id": selector_id, "source_id": source.id, "case_id": case_id}
        bulk_insert(
            session,
            Sighting,
            [{**row, "agency_id": actor.agency_id, "context": "test", "extra": extra}],
        )
    with store.reading() as session:
        assert session.scalars(select(Sighting.extra)).one() == extra


def test_the_writer_stores_text_and_extra_as_the_orm_path_would(store: Store) -> None:
    """``ingest_rows`` makes text storable and extra data JSON text in the parsing worker, and
    the writer hands both to the driver as they are (``insert_values``). That is exact only
    while no text column has a bind processor beyond ``storable``, and while a fact without
    extra data stores SQL NULL, not the JSON ``null`` a JSON column given None would."""
    dialect = store.engine.dialect
    for column in (Sighting.context, Event.kind, Event.room, Event.text):
        assert driver_converter(column, dialect) is storable
    source = SOURCES / "chat" / "chatterbox.jsonl"
    ingest(store, admin_actor(store), "chat-jsonl", str(source), "CASE-1")
    with store.reading() as session:
        without = session.scalar(select(func.count()).where(Sighting.extra.is_(None)))
        json_null = session.scalar(
            select(func.count()).select_from(Sighting).where(text("CAST(extra AS TEXT) = 'null'"))
        )
        assert without and not json_null


class _CountingStore:
    def __init__(self) -> None:
        self.analyzed: list[tuple[str, ...]] = []

    def analyze(self, *tables: str) -> None:
        self.analyzed.append(tables)


def test_planner_statistics_are_refreshed_as_an_ingest_doubles_what_it_added() -> None:
    """After ANALYZE_AFTER_ROWS new selectors and files, then at each doubling: a long
    ingest refreshes them a logarithmic number of times, never every batch."""
    store = _CountingStore()
    statistics = ingest_module._LookupStatistics(store)  # type: ignore[arg-type]
    refreshed_at = []
    added = 0
    for _ in range(100):  # a hundred batches of 250 new selectors and files each
        result = ingest_module.DocumentResult("d", "0" * 64, 1, True)
        result.counts.selectors_new, result.counts.files_new = 150, 100
        before = len(store.analyzed)
        statistics.after([result])
        added += 250
        if len(store.analyzed) > before:
            refreshed_at.append(added)
    assert refreshed_at == [1_000, 2_000, 4_000, 8_000, 16_000]
    assert set(store.analyzed) == {("selector", "file")}


def test_no_write_transaction_is_open_while_a_document_is_parsed(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction holds SQLite's write lock: parsing a large document inside one would
    keep every other writer (another command, the job runner's heartbeat) waiting."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for number in range(4):
        (folder / f"r-{number}.xml").write_text(many_accounts_report(5, first=number * 3))
    database = sqlite_store.engine.url.database
    real_parse = parsing.parse_document
    parsed = []

    def parse_while_probing(*args: Any) -> ParsedSource:
        probe = sqlite3.connect(database, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")  # "database is locked" if a writer holds it
            probe.execute("ROLLBACK")
        finally:
            probe.close()
        parsed.append(args[1].name)
        return real_parse(*args)

    monkeypatch.setattr(parsing, "parse_document", parse_while_probing)
    summary = ingest(sqlite_store, admin_actor(sqlite_store), "cybertip", str(folder), "CASE-1")
    assert summary.new_sources == 4 and len(parsed) == 4


def test_results_are_listed_in_input_order_with_repeats_in_place(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(SOURCES / "chat" / "chatterbox.jsonl", folder / "a.jsonl")
    shutil.copy(SOURCES / "chat" / "chatterbox.jsonl", folder / "b.jsonl")  # the same bytes
    (folder / "c.jsonl").write_text(
        (SOURCES / "chat" / "chatterbox.jsonl").read_text().splitlines(True)[0]
    )
    found = ingest_json(ingest(store, admin_actor(store), "chat-jsonl", str(folder), "CASE-1"))
    listed = [(d["name"], d["created"]) for d in found["documents"]]
    assert [name.rsplit("/", 1)[-1] for name, _ in listed] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert [created for _, created in listed] == [True, False, True]


def test_an_over_long_platform_account_id_is_refused_alike_on_both_stores(
    store: Store, tmp_path: Path
) -> None:
    """Its ``account`` selector could not be stored on PostgreSQL (500 characters)."""
    log = tmp_path / "long.jsonl"
    line = {"platform": "Chatterbox", "ts": "2006-03-16T10:00:00Z", "sender": "kite"}
    log.write_text(json.dumps({**line, "sender_id": "9" * 600, "text": "hello"}) + "\n")
    with pytest.raises(BadInput, match="platform account id longer than 500"):
        ingest(store, admin_actor(store), "chat-jsonl", str(log), "CASE-1")
    assert row_counts(store)["source"] == 0


def test_json_text_falls_back_without_writing_nan() -> None:
    value = {"big": 2**70, "nan": math.nan, "list": [math.inf, 1.5]}
    assert json.loads(json_text(value)) == {"big": 2**70, "nan": None, "list": [None, 1.5]}


def _attachment_line(text: str, md5: str) -> str:
    sha256 = "8eafa3caceb46f0369d79cb4e623c9516f9bdd273580e69d43bc28399fe387e9"
    message = {
        "platform": "Chatterbox",
        "room": None,
        "ts": "2006-03-16T10:05:00Z",
        "sender": "kite",
        "recipients": ["lake"],
        "text": text,
        "attachments": [{"name": f"{text}.jpg", "md5": md5, "sha256": sha256}],
    }
    return json.dumps(message) + "\n"


def test_a_known_sha256_named_with_another_md5_is_the_same_file_and_a_warning(
    store: Store, tmp_path: Path
) -> None:
    """The SHA-256 is the content: a disagreeing MD5 is the source's error, kept verbatim in
    a warning. It used to make a second File row with the same SHA-256, refused as if
    another process had written it ("run the command again", forever)."""
    first, other = "5e9f0c9689fb7ec181ea0fb09ad3f74e", "0" * 32
    (tmp_path / "a.jsonl").write_text(
        _attachment_line("one", first) + _attachment_line("two", other)
    )
    (tmp_path / "b.jsonl").write_text(_attachment_line("three", other))
    for name in ("a.jsonl", "b.jsonl"):  # within one source, then against the store
        summary = ingest(store, admin_actor(store), "chat-jsonl", str(tmp_path / name), "CASE-1")
        (document,) = summary.documents
        assert len(document.warnings) == 1 and repr(other) in document.warnings[0]
        assert repr(first) in document.warnings[0]
    with store.reading() as session:
        assert session.execute(select(File.md5, File.sha256)).all() == [
            (first, "8eafa3caceb46f0369d79cb4e623c9516f9bdd273580e69d43bc28399fe387e9")
        ]
        kept = [extra["warnings"] for extra in session.scalars(select(Source.extra))]
        audited = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "source.ingest")
        ).all()
    assert [len(w) for w in kept] == [1, 1] and repr(other) in kept[1][0]
    assert [json.loads(entry)["warnings"] for entry in audited] == [1, 1]


def test_a_dirty_room_at_its_length_limit_is_kept_alike_on_every_store(
    store: Store, tmp_path: Path
) -> None:
    """A room escaped after it was cut to its column outgrew the column: PostgreSQL refused
    the document (an internal error) where SQLite kept it. Now both keep the same room."""
    rooms = ["a\x00" + "x" * 298, "b\udcff" + "y" * 297, "c" * 301]
    path = tmp_path / "rooms.jsonl"
    lines = [
        {"platform": "Chatterbox", "room": room, "ts": f"2006-03-16T10:0{n}:00Z", "sender": "anna"}
        | {"text": "hello"}
        for n, room in enumerate(rooms)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ingest(store, admin_actor(store), "chat-jsonl", str(path), "CASE-1")
    with store.reading() as session:
        stored = session.scalars(select(Event.room).order_by(Event.id)).all()
    assert stored == [storable_cut(room, 300) for room in rooms]
    assert stored[0] == "a\\x00" + "x" * 295 and stored[1] == "b\\udcff" + "y" * 293
    assert stored[2] == "c" * 300


def test_an_irc_platform_that_needs_escaping_names_one_account_per_nick(
    store: Store, tmp_path: Path
) -> None:
    """A DCC SEND's room recipients took the platform as given, every other account its
    storable form: with a platform holding a lone surrogate the two spellings collided on the
    selector key, which was reported as a busy store. Both now use the storable form."""
    log = tmp_path / "#lounge.log"
    shutil.copy(SOURCES / "irc" / "#lounge.log", log)
    platform = "Net\udcff"
    summary = ingest(
        store, admin_actor(store), "irc", str(log), "CASE-1", ParseOptions(platform=platform)
    )
    assert summary.documents[0].created
    with store.reading() as session:
        platforms = set(
            session.scalars(select(Selector.platform).where(Selector.kind == "username"))
        )
        recipients = [
            extra["recipients"]
            for extra in session.scalars(select(Event.extra).where(Event.kind == "file_transfer"))
            if extra and extra.get("recipients")
        ]
    assert platforms == {"Net\\udcff"}
    assert recipients  # the fixture's DCC SEND reached the room


def test_a_sighting_with_a_role_is_a_fact_of_its_own_even_when_its_extra_is_shared() -> None:
    """Repeats without a role that share their extra (one dict) merge into one sighting;
    sightings with a role never do, whether their extra is shared or already names it."""
    parsed = ParsedSource(kind="chat", name="lobby.log")
    anna = parsed.account(AccountRef("Chatterbox", "anna"), NOW, "chat line")
    shared, named = {"room": "lobby"}, {"room": "lobby", "role": "reported"}
    ip = SelectorRef("ip", "81.2.3.4", "81.2.3.4")
    for extra in (shared, shared, None, None):  # the last two without extra: one fact
        parsed.seen(ip, anna, NOW, "chat line", extra=extra)
    for extra in (shared, shared, named, named):
        parsed.seen(ip, anna, NOW, "report", role="reported", extra=extra)
    parsed.sightings.append(parsed.sightings[-1])  # even the same record twice
    rows = source_rows(parsed)
    ip_at = list(rows.selectors).index(("ip", "", "81.2.3.4"))
    found = sorted(
        (context, extra or "")
        for selector, _, _, context, extra in rows.sightings
        if selector == ip_at
    )
    reported = json_text({"room": "lobby", "role": "reported"})
    assert found == [
        ("chat line", ""),
        ("chat line", json_text(shared)),
        *[("report", reported)] * 5,
    ]
    assert shared == {"room": "lobby"}  # the parser's dicts are never changed


def test_file_facts_hold_each_field_where_the_writer_reads_it() -> None:
    """The rows carry a ``FileRef`` as a tuple (``ingest_rows.FileFacts``): every position the
    writer reads names the field it means, and the tuple's key is the ref's."""
    ref = FileRef(md5="m" * 32, sha1="s" * 40, sha256="f" * 64, size_bytes=9, name="a.jpg", pdq="p")
    facts = file_facts(ref)
    assert {name: facts[at] for name, at in FACT_AT.items()} == {
        name: getattr(ref, name) for name in FileRef.__slots__
    }
    assert (facts[MD5], facts[SHA1], facts[SHA256], facts[NAME]) == (
        ref.md5,
        ref.sha1,
        ref.sha256,
        ref.name,
    )
    for named in (ref, FileRef(md5="m" * 32), FileRef(sha1="s" * 40)):
        assert facts_key(file_facts(named)) == named.key
