"""Reading seized media: folders, nested archives as streams, hostile archives, disk images."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.triage_support import tar_bytes, zip_bytes
from vigil.errors import BadInput
from vigil.evidence import Limits, open_evidence
from vigil.evidence import disk as disk_module


def walk(path: Path, limits: Limits | None = None):
    evidence = open_evidence(path, limits)
    members = []
    for member in evidence.members():
        content = member.load()
        data = content.data if content.data is not None else content.path.read_bytes()
        members.append((member.path, data, member))
    return evidence, members


def test_nested_zip_and_tar_are_walked_as_streams_and_archives_count_themselves(tmp_path):
    inner_zip = zip_bytes({"a.txt": b"alpha", "d/b.txt": b"beta"})
    inner_tgz = tar_bytes({"c.txt": b"gamma"}, mode="w:gz")
    outer = tar_bytes({"deep/inner.zip": inner_zip, "more.tar.gz": inner_tgz, "top.txt": b"t"})
    (tmp_path / "outer.tar").write_bytes(outer)
    (tmp_path / "loose.txt").write_bytes(b"loose")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    evidence, members = walk(tmp_path)

    assert [path for path, _, _ in members] == [
        "loose.txt",
        "outer.tar!/deep/inner.zip!/a.txt",
        "outer.tar!/deep/inner.zip!/d/b.txt",
        "outer.tar!/deep/inner.zip",
        "outer.tar!/more.tar.gz!/c.txt",
        "outer.tar!/more.tar.gz",
        "outer.tar!/top.txt",
        "outer.tar",
    ]
    contents = {path: data for path, data, _ in members}
    assert contents["outer.tar!/deep/inner.zip!/d/b.txt"] == b"beta"
    assert contents["outer.tar!/more.tar.gz!/c.txt"] == b"gamma"
    assert contents["outer.tar!/deep/inner.zip"] == inner_zip
    assert evidence.refusals == []
    assert all(member.problem is None for _, _, member in members)
    # Nothing was extracted next to the evidence.
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_escaping_member_paths_are_refused_and_reported(tmp_path):
    archive = zip_bytes(
        {"../evil.txt": b"x", "/etc/abs.txt": b"y", "C:/win.txt": b"z", "ok/fine.txt": b"ok"}
    )
    (tmp_path / "a.zip").write_bytes(archive)

    evidence, members = walk(tmp_path / "a.zip")

    assert [path for path, _, _ in members] == ["a.zip!/ok/fine.txt", "a.zip"]
    assert sorted(r.path for r in evidence.refusals) == [
        "a.zip!/../evil.txt",
        "a.zip!//etc/abs.txt",
        "a.zip!/C:/win.txt",
    ]
    assert all("escapes the archive" in r.reason for r in evidence.refusals)
    assert "refused a.zip!/../evil.txt" in members[-1][2].problem
    assert not (tmp_path.parent / "evil.txt").exists()


def test_tar_links_pointing_outside_are_refused_and_links_are_never_files(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, kind, target in (
            ("up", tarfile.SYMTYPE, "../../etc/passwd"),
            ("hard", tarfile.LNKTYPE, "/etc/shadow"),
            ("inside", tarfile.SYMTYPE, "real.txt"),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
        info = tarfile.TarInfo("real.txt")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"real"))
    (tmp_path / "links.tar").write_bytes(out.getvalue())

    evidence, members = walk(tmp_path / "links.tar")

    assert [path for path, _, _ in members] == ["links.tar!/real.txt", "links.tar"]
    assert sorted(r.path for r in evidence.refusals) == ["links.tar!/hard", "links.tar!/up"]


def test_zip_bomb_is_not_expanded(tmp_path):
    zeros = bytes(8 << 20)
    (tmp_path / "bomb.zip").write_bytes(zip_bytes({"zeros.bin": zeros, "x.txt": b"x"}))

    evidence, members = walk(tmp_path / "bomb.zip")

    assert [path for path, _, _ in members] == ["bomb.zip"]
    assert "decompression bomb" in members[0][2].problem
    assert [r.path for r in evidence.refusals] == ["bomb.zip"]


def test_many_small_members_that_expand_too_far_in_total_are_a_bomb(tmp_path):
    members = {f"z{i:03d}.bin": bytes(256 << 10) for i in range(40)}  # each under the floor
    (tmp_path / "spread.zip").write_bytes(zip_bytes(members))

    _, walked = walk(tmp_path / "spread.zip", Limits(ratio_floor_bytes=4 << 20))

    assert [path for path, _, _ in walked] == ["spread.zip"]
    assert "in total" in walked[0][2].problem


def test_compressed_tar_bomb_stops_before_reading_the_member(tmp_path):
    data = tar_bytes({"ok.txt": b"fine", "zeros.bin": bytes(16 << 20)}, mode="w:gz")
    (tmp_path / "bomb.tgz").write_bytes(data)

    evidence, members = walk(tmp_path / "bomb.tgz")

    assert [path for path, _, _ in members] == ["bomb.tgz!/ok.txt", "bomb.tgz"]
    assert "decompression bomb" in members[-1][2].problem
    assert evidence.refusals[0].path == "bomb.tgz"


def test_nesting_beyond_the_depth_limit_is_not_expanded(tmp_path):
    level = zip_bytes({"core.txt": b"core"})
    for depth in range(4):
        level = zip_bytes({f"level{depth}.zip": level})
    (tmp_path / "deep.zip").write_bytes(level)

    _, members = walk(tmp_path / "deep.zip", Limits(max_depth=2))

    assert [path for path, _, _ in members] == [
        "deep.zip!/level3.zip!/level2.zip",
        "deep.zip!/level3.zip",
        "deep.zip",
    ]
    assert "nested deeper than 2" in members[0][2].problem


def test_repeated_zip_names_get_unique_paths(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("same.txt", b"one")
        with pytest.warns(UserWarning):
            archive.writestr("same.txt", b"two")
    (tmp_path / "dup.zip").write_bytes(out.getvalue())

    _, members = walk(tmp_path / "dup.zip")

    assert [(path, data) for path, data, _ in members[:2]] == [
        ("dup.zip!/same.txt", b"one"),
        ("dup.zip!/same.txt#2", b"two"),
    ]


def test_corrupt_and_truncated_archives_are_problems_not_crashes(tmp_path):
    good = tar_bytes({"a.txt": b"a" * 5000, "b.txt": b"b" * 5000})
    (tmp_path / "cut.tar").write_bytes(good[:2048])
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))

    _, members = walk(tmp_path)

    by_path = {path: member for path, _, member in members}
    assert "corrupt zip" in by_path["broken.zip"].problem
    assert "cut.tar!/a.txt" in by_path
    assert "read stopped" in by_path["cut.tar!/a.txt"].problem or "truncated" in (
        by_path["cut.tar!/a.txt"].problem
    )


def test_office_documents_are_files_not_archives(tmp_path):
    docx = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    (tmp_path / "letter.docx").write_bytes(docx)

    _, members = walk(tmp_path)

    assert [path for path, _, _ in members] == ["letter.docx"]


def test_symlinks_in_a_folder_are_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    (evidence_dir / "real.txt").write_bytes(b"real")
    (evidence_dir / "link.txt").symlink_to(outside)

    _, members = walk(evidence_dir)

    assert [path for path, _, _ in members] == ["real.txt"]


def test_paths_that_are_not_evidence_are_one_line_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no such file or directory"):
        open_evidence(tmp_path / "missing")
    (tmp_path / "noise.bin").write_bytes(os.urandom(4096))
    with pytest.raises(BadInput, match="not a folder"):
        open_evidence(tmp_path / "noise.bin")


# --- disk images -------------------------------------------------------------------------------


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = (
            f"needs {', '.join(missing)} "
            "(apt-get install dosfstools mtools e2fsprogs ewf-tools; .ci/run does it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def fat_image(tmp_path: Path) -> Path:
    """A FAT16 image with a folder, two live files and one deleted file."""
    _require("mkfs.fat", "mcopy", "mdel", "mmd")
    image = tmp_path / "card.img"
    _run("mkfs.fat", "-C", str(image), "8192")
    sources = {"hello.txt": b"hello\n", "photo.jpg": b"\xff\xd8\xff" + b"j" * 3000}
    sources["gone.txt"] = b"deleted but recoverable\n"
    for name, data in sources.items():
        (tmp_path / name).write_bytes(data)
    _run("mmd", "-i", str(image), "::/DCIM")
    _run("mcopy", "-i", str(image), str(tmp_path / "hello.txt"), "::/hello.txt")
    _run("mcopy", "-i", str(image), str(tmp_path / "photo.jpg"), "::/DCIM/photo.jpg")
    _run("mcopy", "-i", str(image), str(tmp_path / "gone.txt"), "::/DCIM/gone.txt")
    _run("mdel", "-i", str(image), "::/DCIM/gone.txt")
    return image


def test_fat_image_lists_live_and_deleted_files(tmp_path):
    image = fat_image(tmp_path)
    before = image.read_bytes()

    evidence, members = walk(image)

    assert evidence.kind == "disk"
    listed = {path: (data, member.deleted) for path, data, member in members}
    assert listed["hello.txt"] == (b"hello\n", False)
    assert listed["DCIM/photo.jpg"][1] is False
    deleted = [path for path, (_, gone) in listed.items() if gone]
    assert len(deleted) == 1
    assert deleted[0].startswith("DCIM/") and deleted[0].lower().endswith("one.txt")
    assert listed[deleted[0]][0] == b"deleted but recoverable\n"
    assert image.read_bytes() == before  # the evidence is only read


def test_ext4_image_is_walked(tmp_path):
    _require("mkfs.ext4")
    tree = tmp_path / "tree"
    (tree / "home" / "user").mkdir(parents=True)
    (tree / "home" / "user" / "notes.txt").write_bytes(b"night all\n")
    (tree / "top.bin").write_bytes(bytes(range(256)) * 40)
    image = tmp_path / "disk.ext4"
    _run("mkfs.ext4", "-q", "-d", str(tree), str(image), "4M")

    _, members = walk(image)

    listed = {path: data for path, data, _ in members if not path.startswith("lost+found")}
    assert listed == {"home/user/notes.txt": b"night all\n", "top.bin": bytes(range(256)) * 40}


def test_disk_images_without_the_extra_say_how_to_install_it(tmp_path, monkeypatch):
    image = tmp_path / "card.img"
    image.write_bytes(bytes(1 << 20))
    monkeypatch.setattr(disk_module, "pytsk3", None)
    with pytest.raises(BadInput, match=r"pip install 'vigil\[disk\]'"):
        open_evidence(image)


def test_e01_image_is_read_through_libewf(tmp_path):
    _require("ewfacquirestream")
    raw = fat_image(tmp_path)
    target = tmp_path / "card"
    with raw.open("rb") as stdin:
        subprocess.run(
            ["ewfacquirestream", "-q", "-t", str(target), "-C", "c", "-D", "d", "-E", "1",
             "-e", "examiner", "-N", "n"],
            stdin=stdin, check=True, capture_output=True,
        )  # fmt: skip

    evidence, members = walk(tmp_path / "card.E01")

    assert evidence.kind == "disk"
    raw_listing = {(path, data, m.deleted) for path, data, m in walk(raw)[1]}
    assert {(path, data, m.deleted) for path, data, m in members} == raw_listing
