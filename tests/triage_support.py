"""Benign procedural media and small containers for the triage and evidence tests."""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen

import numpy as np
import piexif
from PIL import Image, ImageDraw


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A gradient with a few shapes and some noise: distinct PDQs for distinct seeds."""
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    angle = rng.uniform(0, 2 * np.pi)
    base = np.cos(angle) * x + np.sin(angle) * y
    channels = [
        (np.sin(base * rng.uniform(2, 9) + rng.uniform(0, 6)) * 0.5 + 0.5) for _ in range(3)
    ]
    array = (np.stack(channels, axis=-1) * 255).astype(np.uint8)
    image = Image.fromarray(array)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        box = (x0, y0, x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    noise = rng.integers(-12, 12, (height, width, 3))
    noisy = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255)
    return Image.fromarray(noisy.astype("uint8"))


def jpeg(seed: int, *, serial: str | None = None, quality: int = 90, size=(320, 240)) -> bytes:
    image = picture(seed, size)
    out = io.BytesIO()
    if serial is None:
        image.save(out, "JPEG", quality=quality)
    else:
        exif = piexif.dump(
            {
                "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"PowerShot A520"},
                "Exif": {piexif.ExifIFD.BodySerialNumber: serial.encode()},
            }
        )
        image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def near_copy(data: bytes) -> bytes:
    """Resized and re-encoded: different bytes, PDQ within a few bits."""
    image = Image.open(io.BytesIO(data))
    smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=70)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_150_000_000
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def vics_media(entries: list[dict], path: Path) -> Path:
    """A VICS 2.0 #Media hash set file."""
    path.write_text(
        json.dumps(
            {
                "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                "2.0.xml/US/$metadata#Media",
                "value": entries,
            }
        )
    )
    return path


READY_TIMEOUT_SECONDS = 180


@contextlib.contextmanager
def paused_triage(command: list[str], env: dict[str, str], pause: str) -> Iterator[Popen]:
    """A real `vigil triage` held still at ``pause`` (its test probe), killed on the way out.

    The probe writes ``ready`` to a pipe and then waits, so the caller acts at exactly that
    point (a SIGKILL, a second writer) without sleeping.
    """
    read_end, write_end = os.pipe()
    env = {**env, "VIGIL_TRIAGE_READY_FD": str(write_end), "VIGIL_TRIAGE_PAUSE": pause}
    process = subprocess.Popen(
        command, env=env, pass_fds=(write_end,), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(write_end)
    try:
        readable, _, _ = select.select([read_end], [], [], READY_TIMEOUT_SECONDS)
        ready = os.read(read_end, 64) if readable else b""
        assert ready == b"ready\n", process.stderr.read() if process.poll() else "no signal"
        yield process
    finally:
        os.close(read_end)
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
