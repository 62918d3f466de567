"""Evidence identity and read faults (docs/reliability.md): one source per exhibit, names kept
byte for byte, and read problems on the instance, never on the content-addressed File."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.triage_support import jpeg
from vigil.errors import BadInput
from vigil.store.models import File, FileInstance, Source
from vigil.workflows.media import triage_hashing
from vigil.workflows.media.triage import TriageProbes, triage


def _device(root: Path) -> Path:
    (root / "Pictures").mkdir(parents=True)
    for seed in range(3):
        (root / "Pictures" / f"p{seed}.jpg").write_bytes(jpeg(200 + seed))
    (root / "notes.txt").write_bytes(b"night all\n")
    return root


def _same_listing_other_bytes(original: Path, copy: Path) -> None:
    """``cp -rp`` then new bytes in one file, keeping its size and modification time."""
    shutil.copytree(original, copy, copy_function=shutil.copy2)
    target = copy / "notes.txt"
    info = target.stat()
    target.write_bytes(b"NIGHT ALL\n")
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


def _instances(store, source_id: int) -> dict[str, tuple[str | None, str | None, bool]]:
    with store.reading() as session:
        rows = session.execute(
            select(FileInstance.path, File.sha256, FileInstance.problem, FileInstance.read_complete)
            .join(File, File.id == FileInstance.file_id)
            .where(FileInstance.source_id == source_id)
        ).all()
    return {path: (sha, problem, whole) for path, sha, problem, whole in rows}


def test_two_devices_that_list_alike_are_two_exhibits_each_with_its_owner(store, tmp_path):
    first = _device(tmp_path / "C")
    second = tmp_path / "D"
    _same_listing_other_bytes(first, second)

    one = triage(store, admin_actor(store), first, "CASE-1", owner="forum:alice")
    two = triage(store, admin_actor(store), second, "CASE-1", owner="forum:bob")

    assert one.source_id != two.source_id
    assert two.hashed_files == 4
    with store.reading() as session:
        owners = {
            source.id: source.extra["seized_from"]["username"]
            for source in session.scalars(select(Source).where(Source.kind == "evidence"))
        }
    assert owners == {one.source_id: "alice", two.source_id: "bob"}
    notes = {_instances(store, s)["notes.txt"][0] for s in (one.source_id, two.source_id)}
    assert notes == {
        hashlib.sha256(b"night all\n").hexdigest(),
        hashlib.sha256(b"NIGHT ALL\n").hexdigest(),
    }


def test_the_same_exhibit_reference_with_other_bytes_is_refused(sqlite_store, tmp_path):
    image = tmp_path / "card.zip"
    image.write_bytes(_zip({"a.txt": b"one"}))
    triage(sqlite_store, admin_actor(sqlite_store), image, "CASE-1", exhibit="EX-1")
    image.write_bytes(_zip({"a.txt": b"two"}))

    with pytest.raises(BadInput, match="other content"):
        triage(sqlite_store, admin_actor(sqlite_store), image, "CASE-1", exhibit="EX-1")


def test_a_completed_folder_that_changed_since_is_refused(sqlite_store, tmp_path):
    root = _device(tmp_path / "dev")
    triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1")
    (root / "notes.txt").write_bytes(b"night all, and more\n")

    with pytest.raises(BadInput, match="has changed since it was triaged"):
        triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1")
    again = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", exhibit="EX-2")
    assert again.hashed_files == 4


def test_a_touch_between_interruption_and_rerun_resumes_the_same_source(
    sqlite_store, tmp_path, monkeypatch
):
    root = _device(tmp_path / "dev")
    log = tmp_path / "hashed.log"
    probes = TriageProbes(hash_log=str(log))
    seen = []

    def stop_after_two(files: int, _bytes: int) -> None:
        seen.append(files)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        triage(
            sqlite_store,
            admin_actor(sqlite_store),
            root,
            "CASE-1",
            batch_files=1,
            progress=stop_after_two,
            probes=probes,
        )
    committed = set(_instances(sqlite_store, 1))
    touched = sorted(committed)[0]
    os.utime(root / touched, (1_000_000_000, 1_000_000_000))
    log.unlink()

    result = triage(
        sqlite_store, admin_actor(sqlite_store), root, "CASE-1", batch_files=1, probes=probes
    )

    assert result.source_id == 1 and result.resumed
    hashed_again = set(log.read_text().splitlines())
    assert hashed_again == {touched} | (
        {"notes.txt", *{f"Pictures/p{i}.jpg" for i in range(3)}} - committed
    )
    with sqlite_store.reading() as session:
        assert session.scalars(select(Source.status)).all() == ["complete"]
    assert len(_instances(sqlite_store, 1)) == 4


def test_a_non_utf8_name_is_kept_byte_for_byte(store, tmp_path):
    root = tmp_path / "dev"
    root.mkdir()
    (root / os.fsdecode(b"caf\xe9.jpg")).write_bytes(jpeg(210))
    member = tarfile.TarInfo("r\xe9sum\xe9.txt")
    member.size = 3
    archive = io.BytesIO()
    with tarfile.open(
        fileobj=archive, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as tar:
        tar.addfile(member, io.BytesIO(b"abc"))
    (root / "old.tar").write_bytes(archive.getvalue())

    result = triage(store, admin_actor(store), root, "CASE-1")

    with store.reading() as session:
        names = dict(session.execute(select(FileInstance.path, FileInstance.raw_path)).all())
        status = session.scalars(select(Source.status)).one()
    assert names["caf\\xe9.jpg"] == b"caf\xe9.jpg"
    assert names["old.tar!/r\\xe9sum\\xe9.txt"] == b"old.tar!/r\xe9sum\xe9.txt"
    assert names["old.tar"] is None
    assert (result.summary.files, status) == (3, "complete")


def test_cli_triage_of_a_non_utf8_name_exits_0(sqlite_store, tmp_path):
    root = tmp_path / "dev"
    root.mkdir()
    (root / os.fsdecode(b"caf\xe9.jpg")).write_bytes(jpeg(211))

    result = run_cli("triage", str(root), "--case", "CASE-1", "--jobs", "1")

    assert result.exit_code == 0, result.stderr


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_bad_crc_member_has_no_content_hash_and_taints_no_genuine_file(store, tmp_path):
    data = b"check your DMs " * 40
    damaged = bytearray(_zip({"msg.txt": data}))
    at = damaged.index(data)
    damaged[at + 5] ^= 0xFF  # same size, wrong CRC
    root = tmp_path / "dev"
    root.mkdir()
    (root / "bad.zip").write_bytes(bytes(damaged))
    genuine = tmp_path / "other"
    genuine.mkdir()
    (genuine / "empty.txt").write_bytes(b"")
    (genuine / "msg.txt").write_bytes(bytes(damaged[at : at + len(data)]))

    bad = triage(store, admin_actor(store), root, "CASE-1")
    good = triage(store, admin_actor(store), genuine, "CASE-1")

    sha, problem, whole = _instances(store, bad.source_id)["bad.zip!/msg.txt"]
    assert (sha, whole) == (None, False)
    assert "CRC" in problem
    with store.reading() as session:
        assert session.get_one(Source, bad.source_id).status == "incomplete"
        errors = session.scalars(select(File.error).where(File.sha256.is_not(None))).all()
    assert errors == [None] * len(errors)
    assert {path: row[1] for path, row in _instances(store, good.source_id).items()} == {
        "empty.txt": None,
        "msg.txt": None,
    }
    rerun = triage(
        store, admin_actor(store), root, "CASE-1"
    )  # retried, still damaged, still one instance
    assert (rerun.source_id, rerun.hashed_files, rerun.skipped_files) == (bad.source_id, 1, 1)
    assert len(_instances(store, bad.source_id)) == 2


def test_a_spool_that_fills_up_leaves_the_member_unhashed_and_the_source_incomplete(
    sqlite_store, tmp_path, monkeypatch
):
    from vigil.evidence import members

    root = tmp_path / "dev"
    root.mkdir()
    big = os.urandom(3 << 20)
    (root / "big.zip").write_bytes(_zip({"big.bin": big}))
    monkeypatch.setattr(members, "SPOOL_BYTES", 1 << 20)
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, fd):
            self.inner = real_fdopen(fd, "wb")
            self.written = 0

        def write(self, chunk):
            self.written += len(chunk)
            if self.written > (2 << 20):
                raise OSError(28, "No space left on device")
            return self.inner.write(chunk)

        def close(self):
            self.inner.close()

    monkeypatch.setattr(members.os, "fdopen", lambda fd, mode: FullDisk(fd))

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1")

    sha, problem, whole = _instances(sqlite_store, result.source_id)["big.zip!/big.bin"]
    assert (sha, whole) == (None, False) and "No space left" in problem
    with sqlite_store.reading() as session:
        assert session.get_one(Source, result.source_id).status == "incomplete"


def test_a_file_that_keeps_changing_while_read_is_flagged(sqlite_store, tmp_path, monkeypatch):
    root = tmp_path / "dev"
    root.mkdir()
    (root / "live.log").write_bytes(b"a")
    (root / "once.log").write_bytes(b"b")
    real = triage_hashing.hash_file
    calls: dict[str, int] = {}

    def growing(path: Path):
        calls[path.name] = calls.get(path.name, 0) + 1
        hashes = real(path)
        if path.name == "live.log" or calls[path.name] == 1:
            with path.open("ab") as handle:
                handle.write(b"+")
        return hashes

    monkeypatch.setattr(triage_hashing, "hash_file", growing)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=1)

    found = _instances(sqlite_store, result.source_id)
    assert "changed while being read" in found["live.log"][1]
    assert found["once.log"] == (hashlib.sha256(b"b+").hexdigest(), None, True)
    assert calls == {"live.log": 2, "once.log": 2}


def test_a_report_file_with_a_non_utf8_name_ingests(sqlite_store, tmp_path):
    folder = tmp_path / "chat"
    folder.mkdir()
    line = b'{"platform": "p", "ts": "2006-03-14T21:00:00Z", "sender": "a", "text": "night all"}\n'
    (folder / os.fsdecode(b"log-\xe9.jsonl")).write_bytes(line)

    result = run_cli("ingest", "chat-jsonl", str(folder), "--case", "CASE-1")

    assert result.exit_code == 0, result.stderr
    with sqlite_store.reading() as session:
        assert session.scalars(select(Source.original_name)).all() == ["log-\\xe9.jsonl"]
