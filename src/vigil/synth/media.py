"""Procedural benign media: gradients, shapes, noise and text, never people.

Every image's PDQ is computed from its encoded bytes (what a triage tool will decode), so the
distances promised in truth hold for the files as written.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import pdqhash
import piexif
from PIL import Image, ImageDraw, ImageFile

from vigil.synth.model import MediaFile

_WORDS = ["sample", "test", "pattern", "grid", "delta", "orbit", "field", "north", "calm", "echo"]


@dataclass
class Shape:
    kind: str
    box: tuple[int, int, int, int]
    colour: tuple[int, int, int]


@dataclass
class Scene:
    """The parameters of one procedural picture; a series jitters one scene."""

    width: int
    height: int
    colour_from: tuple[int, int, int]
    colour_to: tuple[int, int, int]
    angle: float
    shapes: list[Shape] = field(default_factory=list)
    caption: str = ""
    noise_sigma: float = 6.0


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]


def random_scene(rng: np.random.Generator, size: tuple[int, int] | None = None) -> Scene:
    width, height = size or (int(rng.integers(160, 320)), int(rng.integers(160, 320)))
    scene = Scene(width, height, _colour(rng), _colour(rng), float(rng.uniform(0, 2 * math.pi)))
    for _ in range(int(rng.integers(5, 13))):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        x1 = min(width, x0 + int(rng.integers(15, width // 2 + 16)))
        y1 = min(height, y0 + int(rng.integers(15, height // 2 + 16)))
        scene.shapes.append(
            Shape(str(rng.choice(["ellipse", "rect", "tri"])), (x0, y0, x1, y1), _colour(rng))
        )
    scene.caption = f"{rng.choice(_WORDS)} {int(rng.integers(1, 999))}"
    return scene


def jitter_scene(scene: Scene, rng: np.random.Generator, amount_px: int = 12) -> Scene:
    """The same scene a moment later: shapes moved a little, one shape added or recoloured."""
    shapes = []
    for shape in scene.shapes:
        dx, dy = (int(v) for v in rng.integers(-amount_px, amount_px + 1, 2))
        x0, y0, x1, y1 = shape.box
        shapes.append(Shape(shape.kind, (x0 + dx, y0 + dy, x1 + dx, y1 + dy), shape.colour))
    if rng.random() < 0.5:
        shapes.append(
            Shape(
                "ellipse",
                (
                    int(rng.integers(0, scene.width - 20)),
                    int(rng.integers(0, scene.height - 20)),
                    scene.width,
                    scene.height,
                ),
                _colour(rng),
            )
        )
    return Scene(
        scene.width,
        scene.height,
        scene.colour_from,
        scene.colour_to,
        scene.angle + float(rng.uniform(-0.1, 0.1)),
        shapes,
        f"{scene.caption.split()[0]} {int(rng.integers(1, 999))}",
        scene.noise_sigma,
    )


def render(scene: Scene, rng: np.random.Generator) -> Image.Image:
    xs = np.linspace(0.0, 1.0, scene.width)[None, :]
    ys = np.linspace(0.0, 1.0, scene.height)[:, None]
    t = math.cos(scene.angle) * xs + math.sin(scene.angle) * ys
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    start, end = np.array(scene.colour_from, float), np.array(scene.colour_to, float)
    pixels = start[None, None, :] * (1 - t[..., None]) + end[None, None, :] * t[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        x0, y0, x1, y1 = shape.box
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if shape.kind == "ellipse":
            draw.ellipse(box, fill=shape.colour)
        elif shape.kind == "rect":
            draw.rectangle(box, fill=shape.colour)
        else:
            draw.polygon(
                [(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])],
                fill=shape.colour,
            )
    draw.text((6, scene.height - 16), scene.caption, fill=(255, 255, 255))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(
        0, scene.noise_sigma, (scene.height, scene.width, 3)
    )
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def camera_exif(make: str, model: str, serial: str, taken: str) -> bytes:
    """EXIF carrying the camera serial that ties a series together (BodySerialNumber)."""
    return piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: make.encode(), piexif.ImageIFD.Model: model.encode()},
            "Exif": {
                piexif.ExifIFD.BodySerialNumber: serial.encode(),
                piexif.ExifIFD.DateTimeOriginal: taken.encode(),
            },
            "1st": {},
            "GPS": {},
            "Interop": {},
            "thumbnail": None,
        }
    )


def encode(
    image: Image.Image, fmt: str = "JPEG", quality: int = 85, exif: bytes | None = None
) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": quality} if fmt == "JPEG" else {"optimize": False}
    if exif:
        options["exif"] = exif
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def pdq_bits_hex(pixels: np.ndarray) -> tuple[str, int]:
    bits, quality = pdqhash.compute(pixels)
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def pdq_of_bytes(data: bytes, allow_truncated: bool = False) -> tuple[str, int]:
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = allow_truncated
    try:
        with Image.open(io.BytesIO(data)) as image:
            return pdq_bits_hex(np.asarray(image.convert("RGB")))
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def distance_bits(first: str, second: str) -> int:
    return (int(first, 16) ^ int(second, 16)).bit_count()


def media_file(name: str, data: bytes, kind: str, **extra: Any) -> MediaFile:
    return MediaFile(
        name=name,
        data=data,
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        kind=kind,
        **extra,
    )


def image_file(
    name: str, data: bytes, kind: str, mime: str = "image/jpeg", **extra: Any
) -> MediaFile:
    pdq, quality = pdq_of_bytes(data)
    return media_file(
        name, data, kind, pdq=pdq, pdq_quality=quality, is_image=True, mime=mime, **extra
    )


def near_variant(original: Image.Image, rng: np.random.Generator, how: str) -> Image.Image:
    """A resized, cropped or watermarked copy (re-encoding is applied by the caller)."""
    width, height = original.size
    if how == "resize":
        factor = float(rng.uniform(0.6, 0.9))
        return original.resize(
            (int(width * factor), int(height * factor)), Image.Resampling.BILINEAR
        )
    if how == "crop":
        margin_x, margin_y = (int(v) for v in rng.integers(1, 4, 2))  # PDQ is not crop-robust
        return original.crop((margin_x, margin_y, width - margin_x, height - margin_y))
    if how == "watermark":
        copy = original.copy()
        ImageDraw.Draw(copy).text((width // 2 - 30, 8), "shared via board", fill=(250, 250, 250))
        return copy
    return original


def tiny_video(rng: np.random.Generator, seconds: int, fps: int = 10, side_px: int = 64) -> bytes:
    """A short MPEG-4 clip of moving shapes, encoded single-threaded so bytes are repeatable."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = side_px
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        scene = random_scene(rng, (side_px, side_px))
        for _ in range(seconds * fps):
            scene = jitter_scene(scene, rng, 3)
            frame = av.VideoFrame.from_ndarray(np.asarray(render(scene, rng)), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
