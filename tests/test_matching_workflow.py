"""Contract E in the store: load_matcher over every hash set, match_files writing Match rows,
and the on-disk index cache that follows imports, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.actors import admin_actor
from vigil.store.db import Store
from vigil.store.models import AuditEntry, File, Match
from vigil.workflows.media import matching
from vigil.workflows.media.hashsets import import_hash_set, refresh_index
from vigil.workflows.media.matching import forget_cached_matchers, load_matcher, match_files

DATA = Path(__file__).parent / "data" / "hashsets"
MD5_A = "0cc175b9c0f1b6a831c399e269772661"
SHA256_B = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture(autouse=True)
def _index_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_INDEX_DIR", str(tmp_path / "index-cache"))


def near(pdq: str, bits: int) -> str:
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def add_files(store: Store) -> list[int]:
    with store.transaction() as session:
        files = [
            File(md5=MD5_A),  # exact, alert set
            File(sha256=SHA256_B, pdq=near(PDQ_A, 5)),  # exact via SHA-256 from AlternativeHashes
            File(sha256="1" * 64, pdq=near(PDQ_A, 30)),  # near only
            File(sha256="2" * 64, pdq=near(PDQ_A, 40)),  # beyond the radius
            File(sha256="3" * 64),  # unknown
        ]
        session.add_all(files)
        session.flush()
        return [f.id for f in files]


def test_match_files_writes_exact_and_near_rows_once(store: Store) -> None:
    import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    ids = add_files(store)
    with store.transaction() as session:
        assert match_files(session, admin_actor(store), ids) == 4
    with store.transaction() as session:
        assert match_files(session, admin_actor(store), ids) == 0  # idempotent
        rows = session.execute(
            select(Match.file_id, Match.kind, Match.distance_bits).order_by(Match.file_id)
        ).all()
        assert "match.files" in set(session.scalars(select(AuditEntry.action)))
    assert [(r.file_id, r.kind, r.distance_bits) for r in rows] == [
        (ids[0], "exact", None),
        (ids[1], "exact", None),
        (ids[1], "near", 5),  # the same file is also near entry 1's PDQ
        (ids[2], "near", 30),
    ]


def test_load_matcher_follows_imports_and_replacements(store: Store) -> None:
    assert load_matcher(store).match(md5=MD5_A) == []
    import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    (hit,) = load_matcher(store).match(md5=MD5_A)
    assert (hit.hash_set_name, hit.set_kind, hit.category) == ("pv", "alert", "1")
    import_hash_set(
        store, admin_actor(store), "list", DATA / "list-sha256.txt", name="pv", hash_type="sha256"
    )
    refreshed = load_matcher(store)
    assert refreshed.match(md5=MD5_A) == []
    assert [r.kind for r in refreshed.match(sha256=SHA256_B)] == ["exact"]


def test_per_set_radius(store: Store) -> None:
    import_hash_set(
        store,
        admin_actor(store),
        "vics",
        DATA / "vics2-media.json",
        name="tight",
        pdq_radius_bits=8,
    )
    matcher = load_matcher(store)
    assert [r.distance_bits for r in matcher.match(pdq=near(PDQ_A, 8))] == [8]
    assert matcher.match(pdq=near(PDQ_A, 9)) == []


def test_index_cache_location_and_reload(store: Store, tmp_path: Path) -> None:
    import_hash_set(store, admin_actor(store), "vics", DATA / "vics2-media.json", name="pv")
    url = store.engine.url
    directory = matching.index_directory(url, store.index_root)
    assert directory is not None and not directory.exists()  # the import does not build it
    status = refresh_index(store)
    assert (status.entries, status.hash_sets, status.directory) == (3, 1, str(directory))
    assert directory is not None
    if url.get_backend_name() == "sqlite":
        assert directory == Path(url.database or "").resolve().with_name("vigil.db.index")
    else:
        assert directory.parent == tmp_path / "index-cache"
    manifest = directory / (directory / "CURRENT").read_text()
    assert manifest.is_file() and (directory / "segments").is_dir()
    expected = load_matcher(store).match(md5=MD5_A, pdq=near(PDQ_A, 3))
    forget_cached_matchers()
    reloaded = load_matcher(store)  # from disk, not rebuilt
    assert reloaded.match(md5=MD5_A, pdq=near(PDQ_A, 3)) == expected
    manifest.write_bytes(b"damaged")
    forget_cached_matchers()
    assert load_matcher(store).match(md5=MD5_A, pdq=near(PDQ_A, 3)) == expected  # rebuilt


def test_index_directory_for_each_kind_of_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert matching.index_directory(make_url("sqlite:////data/cases/vigil.db")) == Path(
        "/data/cases/vigil.db.index"
    )
    assert matching.index_directory(make_url("sqlite://")) is None
    root = Path("/srv/vigil-index")
    pg = matching.index_directory(make_url("postgresql+psycopg://u:secret@db/vigil"), root)
    assert pg is not None and pg.parent == root
    same = matching.index_directory(make_url("postgresql+psycopg://u:other@db/vigil"), root)
    assert same == pg  # the password is not part of the key
    monkeypatch.setenv("HOME", "/home/analyst")
    home = matching.index_directory(make_url("postgresql+psycopg://db/vigil"))
    assert home is not None and home.parent == Path("/home/analyst/.local/share/vigil/index")


def test_deleted_hash_set_stops_matching(sqlite_store: Store) -> None:
    import_hash_set(
        sqlite_store, admin_actor(sqlite_store), "vics", DATA / "vics2-media.json", name="pv"
    )
    assert load_matcher(sqlite_store).match(md5=MD5_A)
    from vigil.store.models import HashSet

    with sqlite_store.transaction() as session:
        session.delete(session.scalars(select(HashSet)).one())
    assert load_matcher(sqlite_store).match(md5=MD5_A) == []
    with sqlite_store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Match)) == 0
