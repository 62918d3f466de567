"""Importing, replacing, exporting and listing hash sets in the store, on SQLite and
PostgreSQL, through the workflow and through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.test_hashsets_formats import RDS_ROWS, make_rds
from vigil.errors import BadInput, UsageError
from vigil.formats.hashrecord import HashRecord
from vigil.store.db import Store
from vigil.store.models import AuditEntry, HashEntry, HashSet, Source
from vigil.workflows.media.hashsets import entry_records, export_hash_set, import_hash_set

DATA = Path(__file__).parent / "data" / "hashsets"


@pytest.fixture(autouse=True)
def _index_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_INDEX_DIR", str(tmp_path / "index-cache"))


def stored(store: Store, name: str) -> list[HashRecord]:
    with store.reading() as session:
        hash_set = session.scalars(select(HashSet).where(HashSet.name == name)).one()
        return list(entry_records(session, hash_set.id))


def counts(store: Store) -> tuple[int, int]:
    with store.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(HashSet)) or 0,
            session.scalar(select(func.count()).select_from(HashEntry)) or 0,
        )


def test_import_vics_records_provenance_and_audit(store: Store) -> None:
    result = import_hash_set(
        store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv"
    )
    assert (result.entries, result.kind, result.replaced, result.unchanged) == (
        3,
        "alert",
        False,
        False,
    )
    with store.reading() as session:
        hash_set = session.get(HashSet, result.hash_set_id)
        assert hash_set is not None
        assert (hash_set.entry_count, hash_set.format, hash_set.pdq_radius_bits) == (3, "vics", 31)
        source = session.get(Source, hash_set.source_id)
        assert source is not None and source.kind == "hashset:vics"
        assert source.size_bytes == (DATA / "vics2-media.json").stat().st_size
        actions = list(session.scalars(select(AuditEntry.action)))
        assert "hashset.import" in actions and "source.register" in actions
        first = session.scalars(select(HashEntry).order_by(HashEntry.id)).first()
        assert first is not None
        assert (first.md5, first.category, first.distributed) == (
            "0cc175b9c0f1b6a831c399e269772661",
            "1",
            True,
        )
        assert first.extra is not None and first.extra["file_name"] == "gradient_001.jpg"


def test_reimport_replaces_without_duplicates(store: Store) -> None:
    import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    again = import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    assert again.unchanged and counts(store) == (1, 3)
    replaced = import_hash_set(
        store, admin_actor(store), "list", DATA / "list-md5-sha1.txt", name="pv"
    )
    assert replaced.replaced and replaced.entries == 3 and counts(store) == (1, 3)
    assert [r.file_name for r in stored(store, "pv")] == [None, "a.txt", "b.png"]
    radius = import_hash_set(
        store, admin_actor(store), "list", DATA / "list-md5-sha1.txt", name="pv", pdq_radius_bits=20
    )
    assert radius.replaced and counts(store) == (1, 3)


@pytest.mark.parametrize(
    ("format_name", "name"),
    [
        ("list", "list-malformed.txt"),
        ("vics", "vics-truncated.json"),
        ("vics", "vics-wrong-root.json"),
        ("vics", "vics-garbage.xml"),
        ("list", "list-latin1.txt"),
        ("nsrl", "NSRLFile-malformed.txt"),
    ],
)
def test_failed_first_import_leaves_nothing(store: Store, format_name: str, name: str) -> None:
    with store.reading() as session:
        sources_before = session.scalar(select(func.count()).select_from(Source))
    with pytest.raises(BadInput) as caught:
        import_hash_set(store, admin_actor(store), format_name, DATA / name, name="broken")
    assert str(DATA / name) in str(caught.value)
    assert counts(store) == (0, 0)
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == sources_before


def test_failed_reimport_keeps_the_old_entries(store: Store) -> None:
    import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    before = stored(store, "pv")
    with pytest.raises(BadInput, match="line 3"):
        import_hash_set(store, admin_actor(store), "list", DATA / "list-malformed.txt", name="pv")
    assert stored(store, "pv") == before and counts(store) == (1, 3)


def test_nsrl_is_always_ignorable(store: Store, tmp_path: Path) -> None:
    result = import_hash_set(
        store, admin_actor(store), "nsrl", make_rds(tmp_path / "rds.db", RDS_ROWS), name="nsrl"
    )
    assert (result.kind, result.entries) == ("ignorable", 2)
    with pytest.raises(UsageError, match="always ignorable"):
        import_hash_set(
            store, admin_actor(store), "nsrl", DATA / "NSRLFile.txt", name="nsrl2", kind="alert"
        )


def test_an_nsrl_package_id_of_any_type_is_kept_as_text(store: Store, tmp_path: Path) -> None:
    """SQLite holds whatever a hostile RDS puts there: a blob once made the import's JSON
    fail with an internal error. The hash entry is imported; the id is kept as text."""
    rows = [(*RDS_ROWS[0][:5], b"\xed\xa0\x80"), (*RDS_ROWS[1][:5], 2.5)]
    result = import_hash_set(
        store, admin_actor(store), "nsrl", make_rds(tmp_path / "rds.db", rows), name="odd"
    )
    assert result.entries == 2
    with store.reading() as session:
        kept = sorted(extra["package_id"] for extra in session.scalars(select(HashEntry.extra)))
    assert kept == ["2.5", "b'\\xed\\xa0\\x80'"]


ROUND_TRIPS = [
    ("vics", "vics2-media.json", None),
    ("vics", "vics1-cases.json", None),
    ("nsrl", "NSRLFile.txt", None),
    ("icse", "icse-baseline.csv", None),
    ("hashdeep", "hashdeep.txt", None),
    ("list", "list-md5-sha1.txt", None),
    ("list", "list-pdq.txt", "pdq"),
]


def test_vics_round_trip_on_each_database(store: Store, tmp_path: Path) -> None:
    check_round_trip(store, tmp_path, "vics", "vics2-media.json", None)


@pytest.mark.parametrize(("format_name", "name", "hash_type"), ROUND_TRIPS)
def test_every_format_round_trips_through_vics_export(
    sqlite_store: Store, tmp_path: Path, format_name: str, name: str, hash_type: str | None
) -> None:
    check_round_trip(sqlite_store, tmp_path, format_name, name, hash_type)


def check_round_trip(
    store: Store, tmp_path: Path, format_name: str, name: str, hash_type: str | None
) -> None:
    import_hash_set(
        store, admin_actor(store), format_name, DATA / name, name="original", hash_type=hash_type
    )
    out = tmp_path / "export.json"
    assert export_hash_set(store, admin_actor(store), "original", "vics", out) > 0
    import_hash_set(store, admin_actor(store), "vics", out, name="reimported")
    original, reimported = stored(store, "original"), stored(store, "reimported")
    assert len(original) == len(reimported)
    for before, after in zip(original, reimported, strict=True):
        assert before == after  # every field, extra included


def test_cli_import_export_list(store: Store, tmp_path: Path) -> None:
    imported = run_cli(
        "hashset", "import", "vics", str(DATA / "vics1-cases.json"), "--name", "pv",
        "--pdq-radius", "24",
    )  # fmt: skip
    assert imported.exit_code == 0, imported.stderr
    assert "imported hash set pv" in imported.stdout and "3 entries" in imported.stdout
    listed = run_cli("hashset", "list", "--json")
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.stdout)
    assert (entry["name"], entry["kind"], entry["entries"], entry["pdq_radius_bits"]) == (
        "pv",
        "alert",
        3,
        24,
    )
    out = tmp_path / "pv.json"
    exported = run_cli("hashset", "export", "pv", "--format", "vics", "-o", str(out))
    assert exported.exit_code == 0, exported.stderr
    assert json.loads(out.read_text())["@odata.context"].endswith("#Media")
    indexed = run_cli("hashset", "index")
    assert indexed.exit_code == 0 and "3 entries, 1 sets" in indexed.stdout, indexed.stderr
    typed = run_cli(
        "hashset", "import", "list", str(DATA / "list-sha256.txt"), "--name", "s",
        "--hash-type", "sha256", "--kind", "ignorable",
    )  # fmt: skip
    assert typed.exit_code == 0, typed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("list", str(DATA / "list-malformed.txt")), "list-malformed.txt, line 3: not a hash"),
        (("vics", str(DATA / "vics-truncated.json")), "not valid JSON"),
        (("vics", str(DATA / "vics-garbage.xml")), "looks like XML"),
        (("list", str(DATA / "list-utf16.txt")), "UTF-16"),
        (("list", str(DATA / "list-sha256.txt")), "--hash-type"),
        (("bogus", str(DATA / "list-sha256.txt")), "choose one of: hashdeep, icse, list"),
        (("list", str(DATA / "absent.txt")), "no such file"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(
    sqlite_store: Store, args: tuple[str, str], message: str
) -> None:
    result = run_cli("hashset", "import", *args, "--name", "bad")
    assert result.exit_code == 2
    assert result.stderr.startswith("vigil: error:") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert counts(sqlite_store) == (0, 0)


def test_cli_export_unknown_set(store: Store, tmp_path: Path) -> None:
    result = run_cli("hashset", "export", "nope", "--format", "vics", "-o", str(tmp_path / "x"))
    assert result.exit_code == 2 and "no hash set named 'nope'" in result.stderr
    assert not (tmp_path / "x").exists()


def test_usage_errors_are_exit_2(sqlite_store: Store) -> None:
    for args, message in [
        (("vics", str(DATA / "vics2-media.json"), "--hash-type", "md5"), "list format only"),
        (("vics", str(DATA / "vics2-media.json"), "--kind", "maybe"), "--kind must be one of"),
        (("vics", str(DATA / "vics2-media.json"), "--pdq-radius", "99"), "--pdq-radius must be"),
    ]:
        result = run_cli("hashset", "import", *args, "--name", "x")
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert counts(sqlite_store) == (0, 0)
