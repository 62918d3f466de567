"""Triage end to end on a small seized folder: counts, rows, series, re-runs, export, CLI."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.actors import admin_actor
from tests.cli_runner import run_cli
from tests.test_evidence import fat_image
from tests.triage_support import jpeg, near_copy, tar_bytes, vics_media, zip_bytes
from vigil.formats.vics import VicsFormat
from vigil.hashing import hash_stream
from vigil.store.audit import verify_chain
from vigil.store.models import (
    AuditEntry,
    File,
    FileInstance,
    Match,
    Series,
    SeriesFile,
    Source,
)
from vigil.triage.summary import SUMMARY_KEYS
from vigil.workflows.media.hashsets import import_hash_set
from vigil.workflows.media.triage import triage

SERIAL = "SN-4711"


@dataclass
class Device:
    root: Path
    alert_set: Path
    ignorable_set: Path
    files: dict[str, bytes]  # every file triage must find (archive members too) -> content
    series_sha256: set[str]


def _entry(data: bytes, media_id: int) -> dict:
    hashes = hash_stream(io.BytesIO(data), "x")
    entry = {"MediaID": media_id, "Category": 1, "MD5": hashes.md5, "SHA1": hashes.sha1}
    if hashes.pdq:
        entry["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": hashes.pdq}]
    return entry


def build_device(tmp_path: Path) -> Device:
    """A folder with known, near, ignorable, series, unrelated, broken and renamed files."""
    known, known_in_zip, original = jpeg(1), jpeg(3), jpeg(2)
    series = [jpeg(seed, serial=SERIAL) for seed in (10, 11, 12)]
    readme = b"Sample Suite 2.1 readme\n"
    truncated = jpeg(30)
    truncated = truncated[: len(truncated) * 2 // 5]
    inner_tar = tar_bytes({"u.jpg": jpeg(22)})
    backup = zip_bytes(
        {
            "photos/k2.jpg": known_in_zip,
            "photos/list.txt": b"old laptop\n",
            "old/inner.tar": inner_tar,
        }
    )
    top = {
        "Pictures/k1.jpg": known,
        "Downloads/near.jpg": near_copy(original),
        "Program Files/readme.txt": readme,
        "DCIM/100CAM/IMG_0010.JPG": series[0],
        "DCIM/100CAM/IMG_0011.JPG": series[1],
        "DCIM/100CAM/IMG_0012.JPG": series[2],
        "Pictures/misc/u20.jpg": jpeg(20),
        "Pictures/misc/u21.jpg": jpeg(21),
        "Pictures/broken.jpg": truncated,
        "Documents/empty.dat": b"",
        "Documents/notes.txt": jpeg(40),  # a picture that lies about what it is
        "Downloads/backup.zip": backup,
    }
    root = tmp_path / "device"
    for relative, data in top.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    files = dict(top)
    files["Downloads/backup.zip!/photos/k2.jpg"] = known_in_zip
    files["Downloads/backup.zip!/photos/list.txt"] = b"old laptop\n"
    files["Downloads/backup.zip!/old/inner.tar"] = inner_tar
    files["Downloads/backup.zip!/old/inner.tar!/u.jpg"] = jpeg(22)
    alert = vics_media(
        [_entry(known, 1), _entry(known_in_zip, 2), _entry(original, 3)], tmp_path / "alert.json"
    )
    ignorable = vics_media([_entry(readme, 9)], tmp_path / "ignorable.json")
    return Device(root, alert, ignorable, files, {hashlib.sha256(d).hexdigest() for d in series})


EXPECTED = {
    "files": 16,
    "images": 11,
    "videos": 0,
    "known_alert_files": 2,  # k1 and the zip's k2
    "known_ignorable_files": 1,  # readme.txt
    "near_match_files": 1,  # the resized copy of a known picture
    "unknown_image_files": 8,  # 3 series + u20, u21, broken, notes.txt, u.jpg in the tar
    "series": 1,
    "errors": 1,  # the truncated JPEG
}


def import_sets(store, device: Device) -> None:
    import_hash_set(store, admin_actor(store), "vics", device.alert_set, name="alert", kind="alert")
    import_hash_set(
        store, admin_actor(store), "vics", device.ignorable_set, name="good", kind="ignorable"
    )


def row_counts(store) -> dict[str, int]:
    with store.reading() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (File, FileInstance, Match, Series, SeriesFile, Source)
        }


def test_triage_counts_rows_and_series_on_both_databases(store, tmp_path):
    device = build_device(tmp_path)
    import_sets(store, device)

    result = triage(store, admin_actor(store), device.root, "CASE-1", jobs=1, batch_files=5)

    counts = result.summary.as_dict()
    assert list(counts) == list(SUMMARY_KEYS)
    assert {k: counts[k] for k in EXPECTED} == EXPECTED
    assert counts["bytes"] == sum(len(data) for data in device.files.values())
    with store.reading() as session:
        instances = {
            fi.path: (fi, f)
            for fi, f in session.execute(
                select(FileInstance, File).join(File, File.id == FileInstance.file_id)
            )
        }
        assert set(instances) == set(device.files)
        for path, data in device.files.items():
            assert instances[path][1].sha256 == hashlib.sha256(data).hexdigest(), path
        mismatched = {path for path, (fi, _) in instances.items() if fi.extension_mismatch}
        assert "Documents/notes.txt" in mismatched
        assert "Pictures/k1.jpg" not in mismatched
        assert "Downloads/backup.zip" not in mismatched
        assert instances["Downloads/backup.zip"][1].mime == "application/zip"
        assert instances["Pictures/broken.jpg"][1].error
        assert instances["DCIM/100CAM/IMG_0010.JPG"][1].exif_serial == SERIAL
        source = session.get_one(Source, result.source_id)
        assert (source.status, source.kind) == ("complete", "evidence")
        (series,) = session.scalars(select(Series)).all()
        assert series.camera_serial == SERIAL
        assert f"3 images share camera serial {SERIAL}" in series.reasons
        members = set(
            session.scalars(
                select(File.sha256)
                .join(SeriesFile, SeriesFile.file_id == File.id)
                .where(SeriesFile.series_id == series.id)
            )
        )
        assert members == device.series_sha256
        assert verify_chain(session).ok
        assert session.scalar(select(func.count()).where(AuditEntry.action == "triage.batch")) == -(
            -16 // 5
        )

    before = row_counts(store)
    again = triage(store, admin_actor(store), device.root, "CASE-1", jobs=1)
    assert {k: again.summary.as_dict()[k] for k in EXPECTED} == EXPECTED
    assert row_counts(store) == before


def test_parallel_jobs_give_the_same_rows_as_one(sqlite_store, tmp_path):
    device = build_device(tmp_path)
    import_sets(sqlite_store, device)

    result = triage(
        sqlite_store, admin_actor(sqlite_store), device.root, "CASE-1", jobs=2, batch_files=3
    )

    assert {k: result.summary.as_dict()[k] for k in EXPECTED} == EXPECTED
    assert result.hashed_files == 16


def test_the_same_content_twice_is_one_file_and_two_instances(sqlite_store, tmp_path):
    root = tmp_path / "twins"
    root.mkdir()
    (root / "a.jpg").write_bytes(jpeg(5))
    (root / "copy of a.jpg").write_bytes(jpeg(5))

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=1)

    assert (result.summary.files, result.summary.unknown_image_files) == (2, 2)
    assert row_counts(sqlite_store)["File"] == 1
    assert result.summary.series == 0  # one picture found twice is not a series


def test_fat_image_triage_records_the_deleted_file(sqlite_store, tmp_path):
    image = fat_image(tmp_path)

    result = triage(sqlite_store, admin_actor(sqlite_store), image, "CASE-1", jobs=1)

    assert result.summary.files == 3
    with sqlite_store.reading() as session:
        flags = dict(session.execute(select(FileInstance.path, FileInstance.deleted)).all())
    assert flags["hello.txt"] is False and flags["DCIM/photo.jpg"] is False
    deleted = [path for path, gone in flags.items() if gone]
    assert len(deleted) == 1 and deleted[0].lower().endswith("one.txt")


def test_escaping_member_is_reported_and_its_archive_counts_as_an_error(sqlite_store, tmp_path):
    root = tmp_path / "ev"
    root.mkdir()
    (root / "a.zip").write_bytes(zip_bytes({"../../evil.txt": b"x", "ok.txt": b"ok"}))

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=1)

    assert [r.path for r in result.refusals] == ["a.zip!/../../evil.txt"]
    assert (result.summary.files, result.summary.errors) == (2, 1)
    assert not (tmp_path / "evil.txt").exists()


def test_export_case_round_trips_through_the_vics_parser(sqlite_store, tmp_path):
    device = build_device(tmp_path)
    import_sets(sqlite_store, device)
    triage(sqlite_store, admin_actor(sqlite_store), device.root, "CASE-1", jobs=1)
    out = tmp_path / "case.json"

    result = run_cli("export", "case", "CASE-1", "--format", "vics", "-o", str(out))

    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["@odata.context"].endswith("#Cases")
    records = list(VicsFormat().read(out))
    assert {r.sha256 for r in records} == {
        hashlib.sha256(data).hexdigest() for data in device.files.values()
    }
    by_sha = {r.sha256: r for r in records}
    known = by_sha[hashlib.sha256(device.files["Pictures/k1.jpg"]).hexdigest()]
    assert known.category == "1"
    assert known.md5 == hashlib.md5(device.files["Pictures/k1.jpg"]).hexdigest()
    assert {r.series for r in records if r.series} and all(
        by_sha[sha].series for sha in device.series_sha256
    )


def test_cli_summary_json_has_exactly_the_contract_keys(sqlite_store, tmp_path):
    root = tmp_path / "ev"
    root.mkdir()
    (root / "a.jpg").write_bytes(jpeg(7))
    out = tmp_path / "summary.json"

    result = run_cli(
        "triage", str(root), "--case", "CASE-1", "--jobs", "1", "--summary-json", str(out)
    )

    assert result.exit_code == 0, result.stderr
    summary = json.loads(out.read_text())
    assert list(summary) == list(SUMMARY_KEYS)
    assert (summary["files"], summary["images"], summary["unknown_image_files"]) == (1, 1, 1)
    assert "unknown_image_files" in result.stdout and "Traceback" not in result.stderr


def test_owner_is_recorded_as_the_seizure_record(sqlite_store, tmp_path):
    root = tmp_path / "ev"
    root.mkdir()
    (root / "a.jpg").write_bytes(jpeg(9))

    triage(
        sqlite_store, admin_actor(sqlite_store), root, "CASE-1", owner="Lantern Board:Son_of_god"
    )

    with sqlite_store.reading() as session:
        source = session.scalars(select(Source).where(Source.kind == "evidence")).one()
        assert source.extra["seized_from"] == {
            "platform": "Lantern Board",
            "username": "Son_of_god",
        }
        attributed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "source.attribute")
        ).all()
    assert attributed == []  # recorded at registration; nothing to change afterwards


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: [str(tmp / "missing"), "--case", "CASE-1"], "no such file or directory"),
        (lambda tmp: [str(tmp), "--case", "NO-SUCH-CASE"], "no case 'NO-SUCH-CASE'"),
        (lambda tmp: [str(tmp / "noise.bin"), "--case", "CASE-1"], "not a folder"),
        (lambda tmp: [str(tmp), "--case", "CASE-1", "--jobs", "0"], "--jobs must be"),
        (lambda tmp: [str(tmp), "--case", "CASE-1", "--owner", "nocolon"], "--owner: an account"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(sqlite_store, tmp_path, make_args, message):
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 64)

    result = run_cli("triage", *make_args(tmp_path))

    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert row_counts(sqlite_store)["FileInstance"] == 0


def test_bad_files_are_counted_and_the_run_goes_on(sqlite_store, tmp_path, monkeypatch):
    import vigil.workflows.media.triage_hashing as triage_hashing
    from vigil.errors import BadInput

    root = tmp_path / "bad"
    root.mkdir()
    truncated = jpeg(50)[:1500]
    files = {
        "ok.jpg": jpeg(51),
        "empty.dat": b"",
        "locked.bin": b"cannot be read",
        "bomb.zip": zip_bytes({"zeros.bin": bytes(8 << 20)}),
        "renamed.txt": jpeg(52),
        "truncated.jpg": truncated,
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    real_hash_file = triage_hashing.hash_file

    def unreadable(path: Path):
        if path.name == "locked.bin":
            raise BadInput("cannot read: Permission denied", source=str(path))
        return real_hash_file(path)

    monkeypatch.setattr(triage_hashing, "hash_file", unreadable)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=1)

    counts = result.summary.as_dict()
    assert (counts["files"], counts["errors"], counts["images"]) == (6, 3, 3)
    assert counts["unknown_image_files"] == 3
    assert counts["bytes"] == sum(len(data) for data in files.values())
    assert [r.path for r in result.refusals] == ["bomb.zip"]
    with sqlite_store.reading() as session:
        by_path = {
            path: row
            for path, row in session.execute(
                select(FileInstance.path, File).join(File, File.id == FileInstance.file_id)
            )
        }
        problems = dict(session.execute(select(FileInstance.path, FileInstance.problem)).all())
    assert by_path["locked.bin"].sha256 is None
    assert "Permission denied" in by_path["locked.bin"].error
    # A refusal belongs to this instance, not to every zip with those bytes (docs/reliability.md)
    assert by_path["bomb.zip"].error is None
    assert "decompression bomb" in problems["bomb.zip"]
    assert (by_path["empty.dat"].mime, by_path["empty.dat"].error) == ("application/x-empty", None)
    assert by_path["truncated.jpg"].error


def test_cli_disk_image_without_the_extra_is_one_line(sqlite_store, tmp_path, monkeypatch):
    from vigil.evidence import disk

    image = tmp_path / "card.img"
    image.write_bytes(bytes(1 << 16))
    monkeypatch.setattr(disk, "pytsk3", None)

    result = run_cli("triage", str(image), "--case", "CASE-1", "--jobs", "1")

    assert result.exit_code == 2
    assert "pip install 'vigil[disk]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_that_crashes_its_worker_gets_digests_and_an_error(
    sqlite_store, tmp_path, monkeypatch
):
    import os

    import vigil.workflows.media.triage_hashing as triage_hashing

    root = tmp_path / "crash"
    root.mkdir()
    files = {f"ok{i}.jpg": jpeg(60 + i) for i in range(5)}
    files["crash.jpg"] = jpeg(70)
    for name, data in files.items():
        (root / name).write_bytes(data)
    real_hash_file = triage_hashing.hash_file

    def crashing(path: Path):  # runs in the forked workers, as a native decoder fault would
        if path.name == "crash.jpg":
            os._exit(70)
        return real_hash_file(path)

    monkeypatch.setattr(triage_hashing, "hash_file", crashing)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=2)

    assert (result.summary.files, result.summary.images, result.summary.errors) == (6, 6, 1)
    with sqlite_store.reading() as session:
        crashed = session.scalars(
            select(File).join(FileInstance).where(FileInstance.path == "crash.jpg")
        ).one()
        pdqs = session.scalars(select(File.pdq).where(File.pdq.is_not(None))).all()
    assert crashed.sha256 == hashlib.sha256(files["crash.jpg"]).hexdigest()
    assert crashed.mime == "image/jpeg" and crashed.pdq is None
    assert "crashed its worker" in crashed.error
    assert len(pdqs) == 5


def test_crashes_cost_a_process_each_not_one_per_file_of_their_chunk(
    sqlite_store, tmp_path, monkeypatch
):
    """The files a crash took down are hashed again one at a time in one fresh process,
    replaced only after a file kills it: every file is still accounted for."""
    import os

    import vigil.hashing.pool as hashing_pool
    import vigil.workflows.media.triage_hashing as triage_hashing

    root = tmp_path / "crashes"
    root.mkdir()
    names = [f"ok{i:02d}.jpg" for i in range(20)]
    names[3], names[11] = "crash-a.jpg", "crash-b.jpg"
    for i, name in enumerate(names):
        (root / name).write_bytes(jpeg(80 + i))
    real_hash_file = triage_hashing.hash_file
    real_process_pool = hashing_pool.process_pool
    started: list[int] = []

    def crashing(path: Path):
        if path.name.startswith("crash"):
            os._exit(70)
        return real_hash_file(path)

    def counted(workers: int):
        started.append(workers)
        return real_process_pool(workers)

    chunks: list[int] = []
    real_submit = hashing_pool.HashPool.submit

    def chunk_counted(pool, jobs):
        chunks.append(len(jobs))
        return real_submit(pool, jobs)

    monkeypatch.setattr(triage_hashing, "hash_file", crashing)
    monkeypatch.setattr(hashing_pool, "process_pool", counted)
    monkeypatch.setattr(hashing_pool.HashPool, "submit", chunk_counted)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=2)

    assert (result.summary.files, result.summary.errors) == (20, 2)
    with sqlite_store.reading() as session:
        hashed = dict(session.execute(select(FileInstance.path, File.pdq).join(File)).all())
    assert {name for name, pdq in hashed.items() if pdq is None} == {"crash-a.jpg", "crash-b.jpg"}
    # the pool and its replacement (a second crash may break that one too), then one process
    # for each chunk taken down and, for each crash, one to try the file alone and one to go on
    assert started.count(2) <= 3
    assert started.count(1) <= len(chunks) + 2 * 2 < len(names)


def test_chunks_start_small_so_a_small_source_reaches_every_worker(
    sqlite_store, tmp_path, monkeypatch
):
    """Chunks grow from FIRST_CHUNK_FILES towards CHUNK_FILES as files are handed out: 300
    files over 4 workers make dozens of chunks, not three."""
    import vigil.workflows.media.triage as triage_module
    from vigil.hashing.pool import HashPool

    root = tmp_path / "small"
    root.mkdir()
    for i in range(300):
        (root / f"note{i:03d}.txt").write_text(f"note {i}\n")
    sizes: list[int] = []
    real_submit = HashPool.submit

    def recording(pool, jobs):
        sizes.append(len(jobs))
        return real_submit(pool, jobs)

    monkeypatch.setattr(HashPool, "submit", recording)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=4)

    assert result.summary.files == 300 and sum(sizes) == 300
    assert sizes[0] == triage_module.FIRST_CHUNK_FILES
    assert sizes[:-1] == sorted(sizes[:-1])  # growing (the last holds what is left)
    assert len(sizes) >= 4 * 4 and max(sizes) < triage_module.CHUNK_FILES


def test_a_chunk_handed_to_a_pool_a_crash_already_broke_goes_to_a_new_pool(tmp_path, monkeypatch):
    """A long run goes on handing chunks out while an earlier one crashes its worker: a chunk
    handed to the broken pool is hashed by a new one (it used to end the triage with a
    stack trace), and the crashed chunk is hashed again when its turn comes."""
    import os

    import vigil.workflows.media.triage_hashing as triage_hashing
    from vigil.hashing.files import CRASHED
    from vigil.workflows.media.triage_hashing import HashJob, triage_pool

    crash, fine = tmp_path / "crash.txt", tmp_path / "fine.txt"
    crash.write_text("boom")
    fine.write_text("fine")
    real_hash_file = triage_hashing.hash_file

    def crashing(path: Path):
        if path.name == "crash.txt":
            os._exit(70)
        return real_hash_file(path)

    monkeypatch.setattr(triage_hashing, "hash_file", crashing)
    pool = triage_pool(2)
    try:
        crashed = pool.submit([HashJob("crash.txt", local=str(crash))])
        assert crashed.future is not None
        crashed.future.exception()  # returns once the pool knows it is broken
        later = pool.submit([HashJob("fine.txt", local=str(fine))])

        ((later_hashes, _),) = pool.result(later)
        ((crashed_hashes, _),) = pool.result(crashed)
    finally:
        pool.close()
    assert later_hashes is not None and later_hashes.sha256 == hashlib.sha256(b"fine").hexdigest()
    assert crashed_hashes is not None and crashed_hashes.error == CRASHED


def test_a_file_hashed_after_one_that_damaged_the_process_is_not_blamed(
    sqlite_store, tmp_path, monkeypatch
):
    """A file that leaves its process broken without dying makes the next file crash it:
    that file, tried again in a process of its own, is hashed and not recorded as crashing."""
    import os

    import vigil.workflows.media.triage_hashing as triage_hashing

    root = tmp_path / "damaged"
    root.mkdir()
    names = ["a-poison.jpg", "b-innocent.jpg", "c-after.jpg"]
    for i, name in enumerate(names):
        (root / name).write_bytes(jpeg(120 + i))
    real_hash_file = triage_hashing.hash_file
    damaged = {"process": 0}

    def damaging(path: Path):  # runs in the workers: the damage stays in the process
        if damaged["process"] == os.getpid():
            os._exit(70)
        if path.name == "a-poison.jpg":
            damaged["process"] = os.getpid()
        return real_hash_file(path)

    monkeypatch.setattr(triage_hashing, "hash_file", damaging)

    result = triage(sqlite_store, admin_actor(sqlite_store), root, "CASE-1", jobs=2)

    assert (result.summary.files, result.summary.errors) == (3, 0)
    with sqlite_store.reading() as session:
        hashed = dict(session.execute(select(FileInstance.path, File.pdq).join(File)).all())
    assert set(hashed) == set(names) and all(hashed.values())


def _transformed(data: bytes, transpose: Image.Transpose, orientation: int | None) -> bytes:
    """The picture stored turned or mirrored, optionally tagged for viewers to undo it."""
    image = Image.open(io.BytesIO(data)).transpose(transpose)
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG", quality=88)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def test_exif_rotated_and_mirrored_copies_of_known_material_near_match(
    sqlite_store, tmp_path: Path
) -> None:
    known = jpeg(41, size=(400, 300))
    known_set = vics_media([_entry(known, 1)], tmp_path / "known.json")
    import_hash_set(sqlite_store, admin_actor(sqlite_store), "vics", known_set, name="known")
    device = tmp_path / "phone"
    device.mkdir()
    # A phone photo: pixels stored on their side, orientation 6 tells viewers to turn it.
    (device / "portrait.jpg").write_bytes(_transformed(known, Image.Transpose.ROTATE_270, 6))
    (device / "mirrored.jpg").write_bytes(
        _transformed(known, Image.Transpose.FLIP_LEFT_RIGHT, None)
    )
    (device / "unrelated.jpg").write_bytes(jpeg(42, size=(400, 300)))
    result = triage(sqlite_store, admin_actor(sqlite_store), device, "CASE-1")
    assert result.summary.near_match_files == 2
    assert result.summary.unknown_image_files == 1
    with sqlite_store.reading() as session:
        distances = session.scalars(select(Match.distance_bits).where(Match.kind == "near")).all()
    assert len(distances) == 2 and all(d is not None and d <= 31 for d in distances)
