"""`vigil hash`: JSON lines with the contract's keys, stable order, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.cli_runner import run_cli
from tests.test_hashing_engine import jpeg_bytes, png_bytes, procedural_image, procedural_video

CONTRACT_KEYS = {"path", "size", "mime", "md5", "sha1", "sha256", "pdq", "pdq_quality"}


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def make_folder(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "b.jpg").write_bytes(jpeg_bytes(procedural_image(seed=1)))
    (root / "a.txt").write_bytes(b"night all\n")
    (root / "sub" / "c.png").write_bytes(png_bytes(procedural_image(seed=2)))
    (root / "sub" / "deeper" / "d.jpg").write_bytes(jpeg_bytes(procedural_image(seed=3)))
    return root


def test_hash_walks_folders_and_writes_one_json_line_per_file(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "evidence")
    result = run_cli("hash", str(root), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    records = lines(result.stdout)
    assert [Path(r["path"]).relative_to(root).as_posix() for r in records] == [
        "a.txt",
        "b.jpg",
        "sub/c.png",
        "sub/deeper/d.jpg",
    ]
    for record in records:
        assert record.keys() >= CONTRACT_KEYS
        assert record["error"] is None and "video_frames" not in record
        data = Path(record["path"]).read_bytes()
        assert record["size"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
    text, jpeg, png, _ = records
    assert (text["mime"], text["pdq"], text["pdq_quality"]) == ("text/plain", None, None)
    assert jpeg["mime"] == "image/jpeg" and len(jpeg["pdq"]) == 64 and jpeg["pdq_quality"] == 100
    assert png["mime"] == "image/png" and len(png["pdq"]) == 64


def test_parallel_jobs_give_the_same_lines_in_the_same_order(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "evidence")
    one = run_cli("hash", str(root), "--jobs", "1")
    two = run_cli("hash", str(root), "--jobs", "2")
    assert two.exit_code == 0 and two.stdout == one.stdout


def test_video_lines_carry_per_second_frames(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    procedural_video(clip, seconds=3)
    result = run_cli("hash", str(clip))
    assert result.exit_code == 0, result.stderr
    (record,) = lines(result.stdout)
    assert record["mime"] == "video/mp4" and record["pdq"] is None
    assert [frame["ts"] for frame in record["video_frames"]] == [0.0, 1.0, 2.0]
    assert all(set(frame) == {"ts", "pdq", "quality"} for frame in record["video_frames"])


def test_a_file_not_fully_processed_keeps_its_line_and_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_bytes(procedural_image()))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg_bytes(procedural_image(seed=4))[:5000])
    result = run_cli("hash", str(good), str(cut))
    assert result.exit_code == 2
    good_line, cut_line = lines(result.stdout)
    assert good_line["error"] is None
    assert cut_line["mime"] == "image/jpeg" and cut_line["pdq"] is None
    assert cut_line["sha256"] == hashlib.sha256(cut.read_bytes()).hexdigest()
    assert "truncated" in cut_line["error"]
    (message,) = result.stderr.splitlines()
    assert str(cut) in message and str(good) not in message


def test_a_missing_path_exits_2_before_anything_is_written(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_bytes(procedural_image()))
    result = run_cli("hash", str(good), str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()
    assert "missing" in message and "Traceback" not in result.stderr


def test_hash_needs_no_database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    result = run_cli("--db", "postgresql://nobody@127.0.0.1:1/none", "hash", "x.bin")
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout)[0]["md5"] == hashlib.md5(b"\x00\x01").hexdigest()
    assert not list(tmp_path.glob("*.db"))


def test_a_device_or_pipe_is_refused_instead_of_read_forever(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = run_cli("hash", str(pipe))
    assert result.exit_code == 2 and result.stdout == ""
    assert "not a regular file" in result.stderr


def test_a_file_that_crashes_its_worker_keeps_its_line_with_digests(
    tmp_path: Path, monkeypatch
) -> None:
    """A file that kills its hashing process (a native decoder fault) gets its digests and
    an error; every other file its line, in order: the command is not cut short."""
    import vigil.hashing.batch as batch

    root = tmp_path / "evidence"
    root.mkdir()
    for i in range(12):
        (root / f"f{i:02d}.txt").write_text(f"note {i}")
    real_hash_file = batch.hash_file

    def crashing(path: Path):  # runs in the forked workers
        if path.name in ("f03.txt", "f09.txt"):
            os._exit(70)
        return real_hash_file(path)

    monkeypatch.setattr(batch, "hash_file", crashing)

    result = run_cli("hash", str(root), "--jobs", "2")

    assert result.exit_code == 2
    got = lines(result.stdout)
    assert [Path(line["path"]).name for line in got] == [f"f{i:02d}.txt" for i in range(12)]
    for i, line in enumerate(got):
        assert line["sha256"] == hashlib.sha256(f"note {i}".encode()).hexdigest()
        assert ("crashed its worker" in (line["error"] or "")) == (i in (3, 9))
    assert "2 file(s) not fully processed" in result.stderr
