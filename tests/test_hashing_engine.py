"""The hashing engine on procedural, benign files: digests, type, PDQ, EXIF, video, bad input."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pdqhash
import piexif
import pytest
from PIL import Image, ImageDraw

from vigil.errors import BadInput
from vigil.hashing import ExifInfo, FileHashes, VideoFrame, hash_file, hash_stream
from vigil.hashing import digests as digesting
from vigil.hashing.digests import digest_stream
from vigil.hashing.mime import extension_mismatch, mime_from_content
from vigil.hashing.pdq import dihedral_from_rgb


def distance_bits(left: str, right: str) -> int:
    return (int(left, 16) ^ int(right, 16)).bit_count()


def procedural_image(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """Gradient, a few shapes and noise: asymmetric, so rotations hash differently."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // width, y * 255 // height, (x + 2 * y) * 255 // (width + 2 * height)], axis=2
    )
    noise = rng.normal(0, 6, (height, width, 3))
    image = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 10, height // 8, width // 3, height // 2), fill=(250, 240, 30))
    draw.ellipse((width // 2, height // 2, width * 9 // 10, height * 9 // 10), fill=(20, 40, 200))
    draw.polygon([(width // 2, 10), (width - 20, height // 3), (width // 2, height // 3)], fill=0)
    return image


def jpeg_bytes(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, **save)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def procedural_video(path: Path, *, seconds: float, fps: int = 10) -> None:
    """A moving gradient clip written with PyAV (H.264 in MP4)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(round(seconds * fps)):
            shifted = np.roll(np.asarray(procedural_image(160, 120, seed=3)), index * 4, axis=1)
            frame = av.VideoFrame.from_ndarray(shifted, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_digests_equal_hashlib_in_memory_and_streamed(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000 + b"tail"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    result = hash_file(path)
    assert result.size_bytes == len(data)
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha1 == hashlib.sha1(data).hexdigest()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.mime == "application/octet-stream"
    assert (result.pdq, result.video_frames, result.error) == (None, None, None)
    # Large enough not to be kept: digested in chunks and spilled for the decoders.
    spool = io.BytesIO()
    streamed = digest_stream(io.BytesIO(data), keep_bytes=1000, spill_to=spool)
    assert streamed.content is None and spool.getvalue() == data
    assert streamed.sha256 == result.sha256 and streamed.head == data[:8192]


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    result = hash_file(path)
    assert result.size_bytes == 0
    assert result.md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert result.sha256 == hashlib.sha256(b"").hexdigest()
    assert result.mime == "application/x-empty"
    assert not result.is_image and result.pdq is None and result.error is None


def test_mime_comes_from_content_and_a_lying_extension_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(png_bytes(procedural_image()))
    result = hash_file(path)
    assert result.mime == "image/png" and result.is_image and not result.is_video
    assert result.pdq is not None and result.pdq_quality == 100
    assert extension_mismatch(path.name, result.mime)
    assert not extension_mismatch("photo.png", "image/png")
    assert not extension_mismatch("photo.JPEG", "image/jpeg")
    assert not extension_mismatch("no-extension", "image/png")
    assert mime_from_content(b"check your DMs\n") == "text/plain"


def test_pdq_is_of_the_stored_pixels_and_the_dihedral_finds_the_upright_picture(
    tmp_path: Path,
) -> None:
    upright = procedural_image()
    (tmp_path / "upright.jpg").write_bytes(jpeg_bytes(upright))
    # Stored on its side, with the tag that tells viewers to turn it back (6: rotate 90 CW).
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "tagged.jpg").write_bytes(jpeg_bytes(stored, exif=exif.tobytes()))
    (tmp_path / "untagged.jpg").write_bytes(jpeg_bytes(stored))

    reference = hash_file(tmp_path / "upright.jpg").pdq
    tagged = hash_file(tmp_path / "tagged.jpg")
    untagged = hash_file(tmp_path / "untagged.jpg")
    assert reference and tagged.pdq and untagged.pdq
    # As the reference hashers do: the tag is ignored, the stored pixels are hashed.
    assert distance_bits(tagged.pdq, untagged.pdq) <= 4
    assert distance_bits(tagged.pdq, reference) > 64
    # One of its 7 rotations and mirrors is the upright picture.
    assert min(distance_bits(v, reference) for v in tagged.pdq_dihedral) <= 8


def _pdqhash_dihedral(rgb: np.ndarray) -> tuple[list[str], int]:
    hashes, quality = pdqhash.compute_dihedral(rgb)
    return [np.packbits(bits.astype(np.uint8)).tobytes().hex() for bits in hashes], int(quality)


@pytest.mark.parametrize("kind", ["noise", "flat", "gradient", "picture", "tiny", "64x64"])
def test_dihedral_hashes_equal_pdqhash_compute_dihedral_bit_for_bit(kind: str) -> None:
    rng = np.random.default_rng(len(kind))
    for _ in range(40):
        height, width = (int(side) for side in rng.integers(5, 420, 2))
        if kind == "noise":
            rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        elif kind == "flat":  # every coefficient near zero: ties around the median
            rgb = np.full((height, width, 3), rng.integers(0, 256), dtype=np.uint8)
        elif kind == "gradient":
            ramp = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
            rgb = ramp.astype(np.uint8)
        elif kind == "picture":
            rgb = np.asarray(procedural_image(width, height, seed=int(rng.integers(1000))))
        elif kind == "tiny":  # below the reference's smallest side: all-zero hashes
            rgb = rng.integers(0, 256, (int(rng.integers(1, 5)), width, 3), dtype=np.uint8)
        else:
            rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        ours = dihedral_from_rgb(rgb)
        assert [ours.pdq, *ours.dihedral] == _pdqhash_dihedral(rgb)[0]
        assert ours.quality == _pdqhash_dihedral(rgb)[1]


def test_exif_fields_read_back_from_a_piexif_written_jpeg(tmp_path: Path) -> None:
    def dms(value: float) -> tuple[tuple[int, int], ...]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = Fraction((value - degrees - minutes / 60) * 3600).limit_denominator(10000)
        return ((degrees, 1), (minutes, 1), (seconds.numerator, seconds.denominator))

    exif = {
        "0th": {piexif.ImageIFD.Make: b"Acme Optics", piexif.ImageIFD.Model: b"Model 7"},
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2006:03:14 21:05:09",
            piexif.ExifIFD.BodySerialNumber: b"SN-000123",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"S",
            piexif.GPSIFD.GPSLatitude: dms(33.8688),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: dms(151.2093),
        },
    }
    path = tmp_path / "camera.jpg"
    path.write_bytes(jpeg_bytes(procedural_image(), exif=piexif.dump(exif)))
    info = hash_file(path).exif
    assert info is not None
    assert (info.make, info.model, info.serial) == ("Acme Optics", "Model 7", "SN-000123")
    assert info.taken_at == datetime(2006, 3, 14, 21, 5, 9, tzinfo=UTC)
    assert info.gps_lat == pytest.approx(-33.8688, abs=1e-5)
    assert info.gps_lon == pytest.approx(151.2093, abs=1e-5)


def test_exif_time_with_an_offset_is_converted_to_utc(tmp_path: Path) -> None:
    exif = {
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2006:03:14 21:05:09",
            piexif.ExifIFD.OffsetTimeOriginal: b"-05:00",
        }
    }
    path = tmp_path / "offset.jpg"
    path.write_bytes(jpeg_bytes(procedural_image(), exif=piexif.dump(exif)))
    info = hash_file(path).exif
    assert info == ExifInfo(
        None, None, None, datetime(2006, 3, 15, 2, 5, 9, tzinfo=UTC), None, None
    )


def test_a_photo_without_exif_has_none() -> None:
    result = hash_stream(io.BytesIO(jpeg_bytes(procedural_image())), "plain.jpg")
    assert result.exif is None and result.pdq is not None


def test_truncated_jpeg_keeps_its_digests_and_reports_an_error(tmp_path: Path) -> None:
    data = jpeg_bytes(procedural_image())
    cut = data[: len(data) * 6 // 10]
    path = tmp_path / "cut.jpg"
    path.write_bytes(cut)
    result = hash_file(path)
    assert result.sha256 == hashlib.sha256(cut).hexdigest()
    assert result.md5 == hashlib.md5(cut).hexdigest()
    assert result.is_image and result.mime == "image/jpeg"
    assert result.pdq is None and result.pdq_quality is None
    assert result.error is not None and "truncated" in result.error


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (12_000, 12_000)])
def test_decompression_bomb_is_refused_from_the_header(
    tmp_path: Path, width: int, height: int
) -> None:
    data = png_claiming(width, height)
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    result = hash_file(path)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.is_image and result.pdq is None
    assert result.error is not None and "decompression bomb" in result.error


def test_garbage_after_an_image_signature_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "fake.gif"
    path.write_bytes(b"GIF89a" + bytes(range(256)) * 4)
    result = hash_file(path)
    assert result.mime == "image/gif" and result.error is not None and result.pdq is None


def test_hash_stream_equals_hash_file(tmp_path: Path) -> None:
    data = jpeg_bytes(procedural_image(seed=5))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    assert hash_stream(io.BytesIO(data), "member.jpg") == hash_file(path)


def test_unreadable_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"missing\.jpg"):
        hash_file(tmp_path / "missing.jpg")


def test_video_gets_one_frame_hash_per_second(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    procedural_video(path, seconds=4.5)
    result = hash_file(path)
    assert isinstance(result, FileHashes)
    assert result.is_video and result.mime == "video/mp4" and result.error is None
    assert result.pdq is None
    frames = result.video_frames or []
    assert [frame.ts for frame in frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(isinstance(frame, VideoFrame) and len(frame.pdq) == 64 for frame in frames)
    assert all(frame.quality >= 50 for frame in frames)
    # The picture moves, so the seconds hash differently.
    assert distance_bits(frames[0].pdq, frames[2].pdq) > 10


def test_video_from_a_stream_that_spills_to_disk(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "clip.mp4"
    procedural_video(path, seconds=2.2)
    monkeypatch.setattr(digesting, "KEEP_IN_MEMORY_BYTES", 1024)
    with path.open("rb") as handle:
        streamed = hash_stream(handle, "clip.mp4")
    assert [frame.ts for frame in streamed.video_frames or []] == [0.0, 1.0, 2.0]
    assert streamed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_video_keeps_digests_and_reports_an_error(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    procedural_video(clip, seconds=2)
    data = clip.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[:64] + b"\x00" * (len(data) - 64))
    result = hash_file(broken)
    assert result.is_video and result.error is not None
    assert result.sha256 == hashlib.sha256(broken.read_bytes()).hexdigest()


def _zip_of(members: list[tuple[str, str]]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members:
            archive.writestr(name, text, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ([("notes.txt", "night all")], "application/zip"),
        (
            [("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w/>")],
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            [("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<x/>")],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            [("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<x/>")],
            "application/vnd.oasis.opendocument.text",
        ),
    ],
)
def test_a_zip_is_an_office_document_only_when_its_members_say_so(
    members: list[tuple[str, str]], expected: str
) -> None:
    assert mime_from_content(_zip_of(members)[:8192]) == expected
